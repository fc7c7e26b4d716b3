/* gc.pml -- protocol v2's records and garbage collection (docs/protocol-v2.md sections 2, 3, 5)
   over more epochs than migrate.pml, without a store or file content.

   Concern: which state counts, and whether GC plus late re-creations of GC'd names (by paused
   takers, holders and revokers) can make it go backwards, give an epoch a second outcome that
   counts, or let two holders act at once.

   Bounds: NP = 3 attempt processes with 2 attempts each (6 attempts, so up to 6 epochs); a
   holder decides committed (a state), skipped, or failed (then cleans: c.<n>), and GCs after
   every decision; 1 revoker process that revokes up to 2 held epochs (decide revoked, then
   c.<n>). Every xattr call is one step; pauses anywhere (interleaving). A view is one step (see
   migrate.pml's header for why); a GC is a view, then one step that removes the chosen names.

   Asserts:
     D1    a create of e.<n> that succeeds for an epoch already decided once (a late
           re-creation of a GC'd name) never carries a state at or above the current state;
     MONO  the current state's epoch s and max never go backwards (checked at every removal
           and every create);
     I3'   an attempt that passed its view after take took its epoch legitimately (at its
           create, max was n-1 and epoch n-1 free) and is the only undecided legitimate holder.
   Mutants: MUT_GC_REVK (GC removes a revoked epoch above s once it is cleaned), MUT_GC_MAX
   (GC may remove epoch max), MUT_NO_TAKE_VIEW (no view after take). */

#ifndef A1
#define A1 2
#endif
#ifndef A2
#define A2 2
#endif
#ifndef A3
#define A3 1
#endif
#define ME    7                 /* epochs and attempts 1..6 */
#define NONE  0
#define COMM  1
#define SKIP  2
#define FAIL  4
#define REVK  5

byte l[ME]; byte e[ME]; bit c[ME]; bit eself[ME];
bit  dec[ME];                   /* ghost: epoch ever decided */
bit  legit[ME]; byte ep[ME];    /* ghost, by attempt */
byte his = 0; byte hmax = 0;    /* ghost: highest s and max seen */

#define HAS(j)  (l[j] != 0 || e[j] != NONE)
#define MAX     (HAS(6) -> 6 : (HAS(5) -> 5 : (HAS(4) -> 4 : (HAS(3) -> 3 : (HAS(2) -> 2 : (HAS(1) -> 1 : 0))))))
#define SNOW    (e[6] == COMM -> 6 : (e[5] == COMM -> 5 : (e[4] == COMM -> 4 : \
                (e[3] == COMM -> 3 : (e[2] == COMM -> 2 : (e[1] == COMM -> 1 : 0))))))
#define FREE(j) ((j) == 0 || e[j] == COMM || e[j] == SKIP || ((e[j] == FAIL || e[j] == REVK) && c[j]))
#define UNDEC(b) (legit[b] && !dec[ep[b]])
#define HOLDERS (UNDEC(1) + UNDEC(2) + UNDEC(3) + UNDEC(4) + UNDEC(5) + UNDEC(6))
#define MONO    assert(SNOW >= his && MAX >= hmax); his = SNOW; hmax = MAX

inline decide(n, o, self) {
  if
  :: e[n] == NONE ->
     assert(!dec[n] || o != COMM || n < SNOW);          /* D1 */
     e[n] = o; dec[n] = 1; eself[n] = self; got = 1; MONO
  :: else -> got = 0
  fi
}

inline gc() {
  atomic {                                              /* GC's view */
    m = MAX; mask = 0; j = 1;
    do
    :: j < ME ->
       if
#ifdef MUT_GC_MAX
       :: j <= m && j != SNOW && (j < SNOW || eself[j]) -> mask = mask | (1 << j)
#else
       :: j < m && j < SNOW -> mask = mask | (1 << j)
       :: j < m && j > SNOW && eself[j] && (e[j] == SKIP || (e[j] == FAIL && c[j])) ->
          mask = mask | (1 << j)
#endif
#ifdef MUT_GC_REVK
       :: j < m && j > SNOW && e[j] == REVK && c[j] -> mask = mask | (1 << j)
#endif
       :: else -> skip
       fi; j++
    :: else -> break
    od; m = 0; j = 0
  };
  if
  :: mask != 0 ->
     atomic {                                           /* the removals */
       j = 1;
       do
       :: j < ME ->
          if
          :: mask & (1 << j) ->
             assert(j != SNOW);                         /* MONO: s never goes back */
             assert(j < MAX || !HAS(j));                /* MONO: max never goes back */
             l[j] = 0; e[j] = NONE; c[j] = 0; eself[j] = 0
          :: else -> skip
          fi; j++
       :: else -> break
       od; MONO; mask = 0; j = 0
     }
  :: else -> skip
  fi
}

proctype attempt(byte first; byte per) {
  byte a, k, m, n, o, j, mask; bit got;
  k = 0;
  do
  :: k < per ->
     a = first + k; k++;
     atomic {                                           /* view */
       m = MAX;
       if :: FREE(m) -> n = m + 1 :: else -> m = 0; goto next fi;   /* held: busy */
       m = 0
     };
     atomic {                                           /* take */
#ifdef MUT_NO_EXCL_TAKE
       if :: true ->
#else
       if :: l[n] == 0 ->
#endif
          legit[a] = (MAX == n - 1 && FREE(n - 1)); ep[a] = n; l[n] = a; MONO
       :: else -> goto next                             /* EEXIST: busy */
       fi
     };
     atomic {                                           /* view after take */
#ifndef MUT_NO_TAKE_VIEW
       if :: MAX != n -> goto next :: else -> skip fi;  /* late re-creation: abandon */
#endif
       assert(legit[a] && HOLDERS <= 1)                 /* I3' */
     };
     if :: o = COMM :: o = SKIP :: o = FAIL fi;         /* the attempt's outcome */
     atomic { decide(n, o, 1) };
     if
     :: got && o == FAIL -> atomic { c[n] = 1; MONO }   /* its node's rollback cleans it */
     :: else -> skip
     fi;
     if :: got -> got = 0; gc() :: else -> skip fi;     /* EEXIST: revoked, void */
next:
     atomic { n = 0; o = 0; got = 0 }
  :: else -> break
  od
}

proctype revoker() {
  byte k, m, x, n, o; bit got;
  do
  :: k < 2 ->
     k++;
     atomic { m = MAX; x = l[m]; if :: e[m] == NONE && x != 0 -> n = m :: else -> n = 0 fi; m = 0; x = 0 };
     if
     :: n != 0 ->
        atomic { o = REVK; decide(n, o, 0) };
        if :: got -> atomic { c[n] = 1; MONO; got = 0 } :: else -> skip fi;   /* cleaned */
        n = 0; o = 0
     :: else -> skip
     fi
  :: else -> break
  od
}

init {
  atomic {
    run attempt(1, A1); run attempt(1 + A1, A2)
#if A3 > 0
    ; run attempt(1 + A1 + A2, A3)
#endif
    ; run revoker()
  }
}
