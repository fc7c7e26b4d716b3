/* rename.pml -- paths, inodes and keys (docs/protocol-v2.md sections 3 and 4; BRIEF 5b).

   Concern: a commit belongs to one inode, one key and one target. Two paths A and B, keys
   derived from paths (key(A) = A, key(B) = B), two inodes: inode 1 starts at A; a rotation
   renames A to B (inode 1 is now at B), creates inode 2 at A, and may rename B back onto A
   (inode 1 replaces inode 2, which is then unlinked). Each inode has its own records. One target (a changed target or prefix is the same as a changed key).

   Actors: node 1 and node 2 each visit A, then B; the rotation (rename, then create) happens
   at any moment. A visit: open the path (the descriptor pins the inode), view, take, view
   after take, upload to key(path) the content of the pinned inode, verify (fstat unchanged and
   `lstat(path).ino` still the pinned inode, else `moved`: delete our own object or version),
   decide. No crash, no recover, no GC (migrate.pml and gc.pml); one request may stay in flight
   and land late (MAXTO). No writer: every inode's size/mtime stay as created.

   Invariants:
     I1-path (monitor) for each path P and the inode i now at P: if i's current state is a
             commit for P (names key(P), and i's size/mtime/ino), the object (version) it names
             exists at key(P) with i's content;
     REPORT  (assert when a visit of P reports migrated or skipped) the state it relies on
             names an object (version) at key(P) that holds the pinned inode's content.
   Store: versioned (default): the state names version <attempt>; deletes name a version.
     -DUNVERSIONED: one object per key, PUT overwrites, DELETE removes whatever is there.
     Expected: versioned holds; unversioned violates I1-path when a rename lands in the middle
     of an upload (the weaker guarantee that protocol-v2.md section 8 states).
   Mutants: MUT_NO_IDENTITY (a state counts for any path when size/mtime/ino match),
     MUT_NO_MOVED (verify does not compare lstat(path).ino with the descriptor's inode). */

#define ME    4                          /* epochs 1..3 per inode */
#define NONE  0
#define COMM  1
#define SKIP  2
#define MOVD  3
#define FAIL  4                          /* no reply: held for its rollback (not modelled here) */
#ifndef MAXTO
#define MAXTO 1
#endif

byte at[3];                              /* inode at path A (1), B (2); 0: none */
/* records of inode i, epoch n at [i * ME + n] */
byte l[12]; byte e[12]; byte skey[12]; byte sver[12];
#ifdef UNVERSIONED
bit  oex[3]; byte ocont[3];              /* object at key k */
#else
bit  vex[5]; byte vkey[5]; byte vcont[5];   /* version of attempt a */
#endif
byte qk = 0; byte qa = 0; byte qkey = 0; byte qcont = 0; byte tos = 0;   /* a late request */

#define R(i, n) ((i) * ME + (n))
#define HAS(i, j) (l[R(i, j)] != 0 || e[R(i, j)] != NONE)
#define MAXI(i) (HAS(i, 3) -> 3 : (HAS(i, 2) -> 2 : (HAS(i, 1) -> 1 : 0)))
#define SN(i)   (e[R(i, 3)] == COMM -> 3 : (e[R(i, 2)] == COMM -> 2 : (e[R(i, 1)] == COMM -> 1 : 0)))
#define FREEI(i, j) ((j) == 0 || e[R(i, j)] != NONE)
#ifdef MUT_NO_IDENTITY
#define COMMIT_FOR(i, p) (SN(i) != 0)                      /* size/mtime/ino only */
#else
#define COMMIT_FOR(i, p) (SN(i) != 0 && skey[R(i, SN(i))] == (p))   /* and its key (target) */
#endif
#ifdef UNVERSIONED
#define HOLDS(i, s, p) (oex[p] && ocont[p] == (i))
#else
#define HOLDS(i, s, p) (vex[sver[R(i, s)]] && vkey[sver[R(i, s)]] == (p) && vcont[sver[R(i, s)]] == (i))
#endif
#define PATH_OK(p) (at[p] == 0 || SN(at[p]) == 0 || skey[R(at[p], SN(at[p]))] != (p) || \
                    HOLDS(at[p], SN(at[p]), p))

#define PUT  1
#define DEL  2

inline land(kind, a, key, cont) {
#ifdef UNVERSIONED
  if :: kind == PUT -> oex[key] = 1; ocont[key] = cont
     :: kind == DEL -> oex[key] = 0; ocont[key] = 0 fi
#else
  if :: kind == PUT -> vex[a] = 1; vkey[a] = key; vcont[a] = cont
     :: kind == DEL -> vex[a] = 0 fi
#endif
}

#if MAXTO > 0
active proctype store() {
end:
  atomic { qk != 0 -> land(qk, qa, qkey, qcont); qk = 0; qa = 0; qkey = 0; qcont = 0 }
}
#endif

inline request(kind, a, key, cont) {
  atomic {
    if
    :: land(kind, a, key, cont); r = 1
    :: tos < MAXTO -> tos++; qk = kind; qa = a; qkey = key; qcont = cont; r = 0   /* lands later */
    fi
  }
}

/* a node visits path p1 with attempt a1, then (if p2 != 0) path p2 with attempt a2 */
proctype node(byte p1; byte a1; byte p2; byte a2) {
  byte p, a, i, n, m, o; bit r;
  p = p1; a = a1;
visit:
  atomic { i = at[p]; if :: i == 0 -> goto done :: else -> skip fi };     /* open, fstat */
  atomic {                                                                  /* view */
    m = MAXI(i);
    if
    :: FREEI(i, m) ->
       if
       :: COMMIT_FOR(i, p) -> assert(HOLDS(i, SN(i), p)); goto done        /* skipped: REPORT */
       :: else -> n = m + 1
       fi
    :: else -> goto done                                                    /* busy */
    fi; m = 0
  };
  atomic { if :: l[R(i, n)] == 0 -> l[R(i, n)] = a :: else -> goto done fi };   /* take */
  atomic {                                                                  /* view after take */
    if :: MAXI(i) != n -> goto done :: else -> skip fi;
    if :: COMMIT_FOR(i, p) -> o = SKIP; assert(HOLDS(i, SN(i), p)); goto decide :: else -> skip fi
  };
  request(PUT, a, p, i);                                                    /* upload key(p) */
  atomic {                                                                  /* verify */
    if :: !r -> o = FAIL; goto decide :: else -> r = 0 fi;
#ifndef MUT_NO_MOVED
    if :: at[p] != i -> goto moved :: else -> skip fi;                      /* lstat(p).ino */
#endif
    o = COMM
  };
  goto decide;
moved:
  request(DEL, a, p, 0);              /* our object: DELETE key (unversioned) or our version */
  o = MOVD;
decide:
  atomic {
    if
    :: e[R(i, n)] == NONE ->
       e[R(i, n)] = o;
       if :: o == COMM -> skey[R(i, n)] = p; sver[R(i, n)] = a;
             assert(HOLDS(i, n, p))                                         /* REPORT */
          :: else -> skip fi
    :: else -> skip
    fi
  };
done:
  atomic {
    i = 0; n = 0; m = 0; o = 0; r = 0;
    if :: p2 != 0 -> p = p2; a = a2; p2 = 0; goto visit :: else -> skip fi
  }
}

proctype rotation() {
  atomic { at[2] = at[1]; at[1] = 0 };                  /* rename A -> B */
  at[1] = 2;                                            /* a new inode at A */
  if
  :: atomic { at[1] = at[2]; at[2] = 0 }                /* and maybe rename B -> A (over inode 2) */
  :: skip
  fi
}

active proctype monitor() {
end:
  atomic { !(PATH_OK(1) && PATH_OK(2)) -> assert(false) }   /* I1-path */
}

init {
  atomic { at[1] = 1; run node(1, 1, 2, 2); run node(1, 3, 2, 4); run rotation() }
}
