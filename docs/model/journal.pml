/* journal.pml -- the failed-files journal and its rollback (docs/protocol-v2.md sections 4, 6, 7).

   Concern: a journal that is a log, with torn tails (a crash in the middle of an append),
   replays (the rollback's cursor is written after a line is processed, so a crash replays it)
   and duplicated lines; rollback of each line per section 6; the restarted migrate job's
   resolution of its own dead attempt (section 7), which is how the epoch of a torn line is
   found again. Every step must be idempotent; in the end nothing may be left held.

   Actors: node 1's migrate job (attempts 1 and 2, its uploads may fail: rejected, or landed
   with the reply lost), node 1's rollback job (a separate process reading the journal from
   its cursor, run again and again), node 2's migrate job (one attempt, which commits, so GC
   removes node 1's old epochs while node 1's lines still wait). Versioned store, requests
   land when sent (late requests are migrate.pml's concern). One write of the file (so a
   later attempt uploads a new version after a commit); content and verify are migrate.pml's.
   Bounds: 1 crash of the migrate job (at any step, including in the middle of an append,
   which leaves a torn line), 1 crash of the rollback job (at any step), 2 failed uploads, 1
   duplicated append, a journal of at most 4 lines.

   Asserts: I1 (monitor: the current state's version exists); I2 (at every cleanup DELETE:
   not the current state's version, and the epoch is decided failed or revoked); at the end,
   once every job has finished and the rollback job has run once more: the journal is
   consumed, no epoch is held (epoch max is decided, and cleaned if failed), and no version of
   a failed attempt is left in the store.
   Design as written: -DDESIGN_JOURNAL_AS_WRITTEN (a line whose epoch is absent and whose
   l.<n> is gone matches no rule of section 6 and is left for later).
   Mutants: MUT_GLUE (an append after a torn tail is glued onto it), MUT_CURSOR_FIRST (the
   cursor is written before the line is processed), MUT_CLEAN_UNDECIDED (rollback cleans a
   line whose e.<n> is absent without deciding it first). */

#define ME    5
#define NONE  0
#define COMM  1
#define SKIP  2
#define FAIL  4
#define REVK  5
#define NL    4

byte fv = 1;                         /* the file's version (size, mtime, inode) */
byte l[ME]; byte e[ME]; bit c[ME]; bit eself[ME]; byte sver[ME]; byte smeta[ME];
bit  vex[ME]; byte vmeta[ME];        /* store: version of attempt a, its recorded version */
bit  alive[ME];                      /* attempt's process alive */
bit  failed_att[ME];                 /* ghost: attempt whose epoch was decided failed */
byte jn[NL]; byte ja[NL]; bit jt[NL]; byte jlen = 0;   /* the journal; jt: torn line */
bit  jtail = 0;                      /* the journal ends in a torn line (no newline) */
byte cursor = 0;
byte crm = 0; byte crr = 0; byte fails = 0; byte dups = 0;
bit  mdone[3];
bit  rbdone = 0; bit rbfin = 0;

#define HAS(j)  (l[j] != 0 || e[j] != NONE)
#define MAX     (HAS(4) -> 4 : (HAS(3) -> 3 : (HAS(2) -> 2 : (HAS(1) -> 1 : 0))))
#define SNOW    (e[4] == COMM -> 4 : (e[3] == COMM -> 3 : (e[2] == COMM -> 2 : (e[1] == COMM -> 1 : 0))))
#define FREE(j) ((j) == 0 || e[j] == COMM || e[j] == SKIP || ((e[j] == FAIL || e[j] == REVK) && c[j]))
#define OWN1(x) ((x) == 1 || (x) == 2)

inline decide(n, o, self, ver, meta) {
  if
  :: e[n] == NONE -> e[n] = o; eself[n] = self; got = 1;
     if :: o == COMM -> sver[n] = ver; smeta[n] = meta :: else -> sver[n] = 0; smeta[n] = 0 fi;
     if :: o == FAIL -> failed_att[l[n]] = 1 :: else -> skip fi
  :: else -> o = e[n]; cc = c[n]; got = 0
  fi
}

/* append one line; after a torn tail, a newline first (the guard) */
inline append(n, a) {
#ifdef MUT_GLUE
  if :: jtail -> jt[jlen - 1] = 1; jtail = 0      /* glued onto the torn line: unreadable */
     :: else -> jn[jlen] = n; ja[jlen] = a; jt[jlen] = 0; jlen++ fi
#else
  jtail = 0; jn[jlen] = n; ja[jlen] = a; jt[jlen] = 0; jlen++
#endif
}

inline delete_version(x, m) {
  assert(SNOW == 0 || sver[SNOW] != x);                 /* I2 */
  assert(e[m] != COMM);                                 /* no cleanup of a committed epoch */
  vex[x] = 0
}

inline gc() {                                           /* as migrate.pml, removals in one step */
  atomic {
    m = MAX; mask = 0; j = 1;
    do
    :: j < ME ->
       if
       :: j < m && j < SNOW -> mask = mask | (1 << j)
       :: j < m && j > SNOW && eself[j] && (e[j] == SKIP || (e[j] == FAIL && c[j])) ->
          mask = mask | (1 << j)
       :: else -> skip
       fi; j++
    :: else -> break
    od; m = 0; j = 0
  };
  if
  :: mask != 0 ->
     atomic {
       j = 1;
       do
       :: j < ME -> if :: mask & (1 << j) -> l[j] = 0; e[j] = NONE; c[j] = 0; eself[j] = 0; sver[j] = 0; smeta[j] = 0
                       :: else -> skip fi; j++
       :: else -> break
       od; mask = 0; j = 0
     }
  :: else -> skip
  fi
}

/* the migrate job of a node: attempts first..first+per-1 */
proctype migrate(byte id; byte first; byte per) {
  byte a, k, m, n, x, o, j, mask, rm; bit got, cc, h, resume;
again:
  do
  :: atomic {
       if
       :: resume -> a = 0
       :: !resume && k < per -> a = first + k; k++; alive[a] = 1
       :: !resume && k >= per -> break
       fi
     };
view:
     atomic {
       if :: id == 1 && crm < 1 -> crm++; goto crashed :: true -> skip fi;
       m = MAX; o = e[m]; x = l[m];
       if
       :: FREE(m) -> if :: resume || (SNOW != 0 && smeta[SNOW] == fv) -> goto next :: else -> n = m + 1 fi
       :: o == NONE && x != 0 && OWN1(x) && id == 1 && !alive[x] -> goto resolve
       :: o == FAIL && !c[m] && OWN1(x) && id == 1 -> goto cleanheld
       :: else -> goto next                              /* busy */
       fi; m = 0; o = 0; x = 0
     };
     atomic {                                            /* take */
       if :: id == 1 && crm < 1 -> crm++; goto crashed :: true -> skip fi;
       if :: l[n] == 0 -> l[n] = a :: else -> goto next fi
     };
     atomic {                                            /* view after take */
       if :: id == 1 && crm < 1 -> crm++; goto crashed :: true -> skip fi;
       if :: MAX != n -> goto next :: else -> skip fi;
       if :: SNOW != 0 && smeta[SNOW] == fv -> o = SKIP; goto decide_own :: else -> skip fi;
       rm = fv                                           /* the stat the commit records */
     };
     atomic {                                            /* PUT */
       if :: id == 1 && crm < 1 -> crm++; goto crashed :: true -> skip fi;
       if
       :: vex[a] = 1; vmeta[a] = rm; o = COMM
       :: id == 1 && fails < 2 -> fails++; o = FAIL                 /* rejected */
       :: id == 1 && fails < 2 -> fails++; vex[a] = 1; vmeta[a] = rm; o = FAIL   /* reply lost */
       fi
     };
     if :: o == FAIL -> goto journal :: else -> skip fi;
decide_own:
     atomic {
       if :: id == 1 && crm < 1 -> crm++; goto crashed :: true -> skip fi;
       decide(n, o, 1, a, rm); if :: got -> got = 0 :: else -> goto next fi   /* EEXIST: revoked */
     };
     gc();
     goto next;

journal:                                                 /* append (path, ino, n, attempt) */
     atomic {
       if
       :: crm < 1 ->                                     /* crash in the middle: a torn tail */
          crm++;
#ifdef MUT_GLUE
          if :: jtail -> jt[jlen - 1] = 1 :: else -> jn[jlen] = n; ja[jlen] = a; jt[jlen] = 1; jlen++ fi;
#else
          if :: jtail -> jtail = 0 :: else -> skip fi;   /* a new line starts after a torn tail */
          jn[jlen] = n; ja[jlen] = a; jt[jlen] = 1; jlen++;
#endif
          jtail = 1; goto crashed
       :: true ->
          append(n, a);
          if :: dups < 1 -> dups++; append(n, a) :: true -> skip fi   /* a duplicated line */
       fi
     };
     o = FAIL; goto decide_own;

cleanheld:                                               /* own failed epoch m, attempt x */
     atomic { if :: crm < 1 -> crm++; goto crashed :: true -> skip fi; h = vex[x] };
     if :: h -> atomic { if :: crm < 1 -> crm++; goto crashed :: true -> skip fi; delete_version(x, m); h = 0 }
        :: else -> skip fi;
     atomic { if :: crm < 1 -> crm++; goto crashed :: true -> skip fi; c[m] = 1; m = 0; x = 0 };
     goto view;

resolve:                                                 /* own dead attempt x of epoch m */
     atomic { if :: crm < 1 -> crm++; goto crashed :: true -> skip fi;
              if :: vex[x] -> o = COMM :: else -> o = FAIL fi; rm = vmeta[x] };   /* HEAD, fstat */
     atomic { if :: crm < 1 -> crm++; goto crashed :: true -> skip fi;
              if :: o == COMM && rm != fv -> o = FAIL :: else -> skip fi;   /* not this version */
              decide(m, o, 0, x, rm); rm = 0;
              if :: got && o == FAIL -> got = 0 :: else -> got = 0; goto resolved fi };
     atomic { if :: crm < 1 -> crm++; goto crashed :: true -> skip fi; append(m, x) };   /* journal */
     goto cleanheld;
resolved:
     atomic { o = 0; m = 0; x = 0; goto view };

next:
     atomic { resume = 0; a = 0; n = 0; o = 0; m = 0; x = 0; cc = 0 }
  od;
  mdone[id] = 1;
  goto theend;
crashed:
  atomic { alive[1] = 0; alive[2] = 0; resume = 1; a = 0; n = 0; o = 0; m = 0; x = 0; h = 0; cc = 0; got = 0;
           goto again };
theend:
  skip
}

/* node 1's rollback job: one pass reads the journal from the cursor; the job runs again and
   again; a crash restarts it from the cursor */
proctype rollback() {
  byte n, a, m, o, x; bit got, cc, h, fp;
  do
  :: atomic { mdone[1] && mdone[2] && rbdone -> rbfin = 1; break }   /* final pass done */
  :: atomic { !rbdone -> fp = (mdone[1] && mdone[2]) };   /* fp: a pass after every job ended */
     do                                                 /* one pass */
     :: atomic {
          if :: crr < 1 -> crr++; goto rcrash :: true -> skip fi;
          if :: cursor >= jlen -> break :: else -> skip fi;
          if :: jt[cursor] -> cursor++; goto pass_next :: else -> skip fi;   /* torn: resync */
          n = jn[cursor]; a = ja[cursor]
#ifdef MUT_CURSOR_FIRST
          ; cursor++
#endif
        };
        atomic {                                        /* view */
          if :: crr < 1 -> crr++; goto rcrash :: true -> skip fi;
          m = MAX; o = e[n]; x = l[n]; cc = c[n];
          if
#ifdef MUT_CLEAN_UNDECIDED
          :: o == NONE && x == a && alive[a] -> o = FAIL; goto rclean   /* cleans, undecided */
#endif
#ifdef DESIGN_JOURNAL_AS_WRITTEN
          :: o == NONE && x == a && !alive[a] -> skip       /* decide failed on behalf */
          :: o == NONE && (x != a || alive[a]) -> goto rstop   /* alive, or no rule: later */
#else
          :: o == NONE && x == a && n == m && !alive[a] -> skip
          :: o == NONE && x == a && n == m && alive[a] -> goto rstop   /* alive: later */
          :: o == NONE && (x != a || n != m) -> goto rdone  /* GC'd (n < max): done */
#endif
          :: (o == FAIL || o == REVK) && !cc -> goto rclean
          :: else -> goto rdone                             /* committed, or clean: done */
          fi; m = 0; x = 0; cc = 0
        };
        atomic {
          if :: crr < 1 -> crr++; goto rcrash :: true -> skip fi;
          o = FAIL; decide(n, o, 0, 0, 0);
          if :: (o == FAIL || o == REVK) && !cc -> skip :: else -> goto rdone fi
        };
rclean:
        atomic { if :: crr < 1 -> crr++; goto rcrash :: true -> skip fi; h = vex[a] };
        if :: h -> atomic { if :: crr < 1 -> crr++; goto rcrash :: true -> skip fi;
                            delete_version(a, n); h = 0 }
           :: else -> skip fi;
        atomic { if :: crr < 1 -> crr++; goto rcrash :: true -> skip fi; c[n] = 1 };
rdone:
#ifndef MUT_CURSOR_FIRST
        atomic { if :: crr < 1 -> crr++; goto rcrash :: true -> skip fi; cursor++ };   /* cursor */
#endif
pass_next:
        atomic { n = 0; a = 0; m = 0; o = 0; x = 0; cc = 0; got = 0 }
     od;
     atomic { rbdone = fp; fp = 0; goto pass_end };
rstop:
     atomic { n = 0; a = 0; m = 0; o = 0; x = 0; cc = 0; got = 0; rbdone = fp; fp = 0; goto pass_end };
rcrash:
     atomic { n = 0; a = 0; m = 0; o = 0; x = 0; cc = 0; got = 0; h = 0; fp = 0 };
pass_end:
     skip
  od
}

active proctype writer() {
  fv++                                                  /* one modification of the file */
}

active proctype monitor() {
end:
  atomic { !(SNOW == 0 || vex[sver[SNOW]]) -> assert(false) }   /* I1 */
}

init {
  byte m, j;
  atomic { run migrate(1, 1, 2); run migrate(2, 3, 1); run rollback() };
  (mdone[1] && mdone[2] && rbfin && fv == 2);           /* every job finished */
  atomic {
    m = MAX;
    assert(cursor == jlen);                             /* the journal is consumed */
    assert(m == 0 || e[m] == COMM || e[m] == SKIP || ((e[m] == FAIL || e[m] == REVK) && c[m]));
    j = 1;
    do
    :: j < ME -> assert(!failed_att[j] || !vex[j]); j++   /* no version of a failed attempt left */
    :: else -> break
    od
  }
}
