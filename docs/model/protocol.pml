/* tiermv per-file protocol as implemented (jobs/lib/migrate_file.ts, rollback_entry.ts,
   jobs/recover.ts), abstracted for spin. Started from ../../../shared/model/protocol.pml.
   One file F, one object key K, N nodes with ATT attempts each (later attempts are the retry
   tasks), crashes with restart, one node that may die for good and be recovered by an
   operator, uploads that fail with or without reaching the server, and a writer that modifies F.

   Differences from the shared model, each mirroring the code:
   - a restarted node resolves its own stale lock whether or not the attempt was journalled:
     the upload is committed if the object carries the attempt and F's current version
     (resolveOwnStaleLock), else the attempt is journalled and rolled back at once;
   - `recover` rolls back every journalled attempt of a node that died for good, and its lock.

   Mutants (compile with -D<name>; each must make spin report a violation):
   - MUT_INCIDENT:      rollback deletes by attempt id alone AND no re-check under the lock;
   - MUT_NO_EXCL_LOCK:  the lock is a plain setxattr (no XATTR_CREATE);
   - MUT_LATER_STAT:    commit records the stat taken after the upload, without the verify. */
#define N      2
#define ATT    2
#define MAXC   1      /* crashes with restart, in total */
#define MAXW   1      /* modifications of F, in total */
#define GARB   99     /* object content that is no single version of F */
#define OK     1
#define FAIL   2

byte fv = 1;                     /* F's version: stands for (size, mtime, inode) */
bool st = false; byte stv = 0;   /* committed state xattr: present, version it names */
byte lock = 0;                   /* attempt holding the lock xattr; 0 = none */
bool obj = false; byte obja = 0; byte objv = 0;   /* object at K: present, attempt meta, content */
bool failed[30];                 /* failed-files journals, by attempt id (node*10 + n) */
byte crashes = 0; byte writes = 0;
bool dead[3];                    /* a node that died for good (no restart) */
byte deaths = 0;
byte finished = 0;
bool uploading[3];               /* I3: who is uploading K right now */

/* I1: a committed state matching F's current version has its object, with that content */
ltl i1 { [] ((st && stv == fv) -> (obj && objv == stv)) }

inline maybe_crash() {
  if
  :: crashes < MAXC -> crashes++; goto restart
  :: deaths < 1 -> deaths++; dead[id] = true; goto gone
  :: true -> skip
  fi
}

inline put(a, v) {
  assert(lock == a);             /* I3: no upload without holding the lock */
  uploading[id] = true;
  assert(!uploading[3 - id]);    /* I3: never two uploads of K at once */
  if
  :: atomic { obj = true; obja = a; if :: fv == v -> objv = v :: else -> objv = GARB fi }; res = OK
  :: res = FAIL
  :: atomic { obj = true; obja = a; if :: fv == v -> objv = v :: else -> objv = GARB fi }; res = FAIL
  fi;
  uploading[id] = false
}

inline unlock(a) {
  if :: lock == a -> lock = 0 :: else -> skip fi
}

/* rollback of one journalled attempt x (rollback_entry.ts) */
inline rollback_one(x) {
  h = (obj && obja == x);        /* HEAD K: carries the failed attempt? */
#ifdef MUT_INCIDENT
  s = false;                     /* mutant: delete by attempt id alone */
#else
  s = st;                        /* does a committed state name K? */
#endif
  if :: h && !s -> obj = false :: else -> skip fi;
  unlock(x);
  failed[x] = false
}

inline rollback_all(who) {
  x = who * 10 + 1;
  do
  :: x <= who * 10 + ATT -> if :: failed[x] -> rollback_one(x) :: else -> skip fi; x++
  :: else -> break
  od
}

proctype node(byte id) {
  byte n = 0; byte a; byte v1; byte v2; byte res; byte mine; byte x; byte hv;
  bool h; bool s; bool got;
restart:
  uploading[id] = false;
  /* on start: resolve a stale lock of our own (journalled or not), then roll back the journal */
  mine = lock;
  if
  :: mine != 0 && mine / 10 == id ->
     h = (obj && obja == mine); hv = objv;
     v2 = fv;
     if
     :: h && hv == v2 -> atomic { st = true; stv = hv }; unlock(mine)
     :: else -> failed[mine] = true; rollback_one(mine)
     fi
  :: else -> skip
  fi;
  rollback_all(id);
  do
  :: n < ATT ->
     n++; a = id * 10 + n;
     v1 = fv;                                   /* 1. stat */
     if :: atomic { st && stv == v1 } -> goto next :: else -> skip fi;
     maybe_crash();
#ifdef MUT_NO_EXCL_LOCK
     lock = a; got = true;                      /* mutant: plain setxattr */
#else
     atomic { if :: lock == 0 -> lock = a; got = true :: else -> got = false fi };
#endif
     if :: !got -> goto next :: else -> skip fi;   /* busy: a retry task later */
     maybe_crash();
#ifndef MUT_INCIDENT
     v1 = fv;                                   /* re-check under the lock */
     if :: atomic { st && stv == v1 } -> unlock(a); goto next :: else -> skip fi;
#endif
     maybe_crash();
     put(a, v1);                                /* 3. upload */
     if :: res == FAIL -> failed[a] = true; goto next :: else -> skip fi;
     maybe_crash();
     v2 = fv;                                   /* 4. verify */
#ifdef MUT_LATER_STAT
     atomic { st = true; stv = v2 };            /* mutant: commit the later stat, no verify */
#else
     if :: v2 != v1 -> obj = false; unlock(a); goto next :: else -> skip fi;
     maybe_crash();
     atomic { st = true; stv = v1 };            /* 5. commit the stat taken under the lock */
#endif
     maybe_crash();
     unlock(a);
next:
     rollback_all(id)
  :: else -> break
  od;
gone:
  finished++
}

/* recover: an operator releases a node that died for good (it must really be down) */
proctype recover() {
  byte who; byte x; bool h; bool s;
  if
  :: dead[1] -> who = 1
  :: dead[2] -> who = 2
  fi;
  if :: lock != 0 && lock / 10 == who -> failed[lock] = true :: else -> skip fi;
  rollback_all(who)
}

proctype writer() {
  do
  :: writes < MAXW -> atomic { fv++; writes++ }
  :: else -> break
  od
}

init {
  atomic { run node(1); run node(2); run writer(); run recover() }
}
