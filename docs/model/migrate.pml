/* migrate.pml -- protocol v2 (docs/protocol-v2.md) for ONE inode and ONE key.

   Concern: epochs (take by create, view after take, decide by create), GC, the holder's upload,
   verify and commit, own-dead-attempt resolution, rollback of journal lines, recover (revoke),
   against crashes at every step, pauses between every check and its action, late store
   requests and a writer. Paths, renames and identity: rename.pml. Torn journals, replays and
   a rollback job running beside migrate: journal.pml. GC over more epochs: gc.pml.

   Bounds: node 1 runs A1 attempts (attempts 1..A1), node 2 runs A2 (attempts 3..2+A2);
   A1 = A2 = 2 unless set with -D (check.sh uses 2x2, 2x1 or 1x1 per configuration), so at
   most 4 epochs. MAXC = 1 crash of a node with restart, at any step (every step of a node may
   be replaced by a crash; the restarted node resumes its task: it views the file, resolves its
   own dead attempt, rolls back its journal lines, then goes on with its remaining attempts).
   1 write of the file: a normal write (size/mtime change) or, with -DRESTORE, an mtime-restoring
   one (only content and ctime change). MAXF = 1 store failure (a PUT rejected, or landed with
   its reply lost). MAXTO = 1 request whose sender stops waiting (timeout): it stays queued and
   the store applies it at any later time (after its sender failed, crashed, was revoked, or
   went on), or never. With -DRECOVER: one `recover --force` run against the node holding the
   file's epoch, at any time, alive and paused or not.

   Granularity: one step = one syscall or one store request, with the local decision on its
   result folded in (atomic). Every check and the action that depends on it are separate steps.
   Abstractions, each argued in README.md:
   - a view (flistxattr, then fgetxattr of e.<max>..., and fstat) is one step;
   - a request whose sender waits for its reply lands at the send (its time in flight is, for
     everyone else, a pause of the sender before the send); only abandoned requests are queued;
   - a late xattr write of a live process is, for every other actor, a pause before the call
     (the call is synchronous); a dead process has no xattr write in flight (ceph-fuse answers
     first; until then the process is a zombie, which counts as alive);
   - GC removes all the names it chose in one step (no reader decides on two GC'd names);
   - the design's narrowing checks (e.<n> still absent before each store write) are left out,
     except under FENCED and WINDOW, where that check is the fence: leaving a check out only
     adds behaviours;
   - WINDOW: time is only an order; the window W is one step of a cleaner after it saw the
     decision (see window() and README.md);
   - ctime is the content version: xattr writes that also change ctime are not modelled (they
     can only turn a commit into a needless `modified`).

   Store configurations:
     (default)        versioned: a PUT adds version <attempt>; deletes name a version.
     -DUNVERSIONED    one object at the key; PUT overwrites, DELETE removes whatever is there.
     -DSYNC_STORE     no late arrival: every request lands when sent (a reply may be lost).
     -DFENCED         (with UNVERSIONED) the all-multipart fence, section 8's alternative: every
                      upload is multipart with its upload id recorded in the spool before the
                      check "e.<n> absent and n is max", cleanup aborts the recorded id (a
                      Complete after an Abort gets 404), and nothing is ever deleted by key.
     -DWINDOW         (with UNVERSIONED) the time-window fence, section 8's default: single PUTs;
                      every store write is signed (SigV4: it carries its signing time), then
                      checked ("e.<n> absent and n is max"), then sent; a holder decides normally
                      only when every write it sent got an answer, else `failed` marked
                      ambiguous; the cleanup of an ambiguous or revoked epoch waits the window W
                      (modelled: one step, taken by the cleaner after it saw e.<n> decided, after
                      which every write of the epoch signed before that step is refused by the
                      store; a write is "armed" once its check passed and may be sent, and
                      applied, at any time until then); an unambiguous failure is cleaned at
                      once; nothing is ever deleted by key. Multipart ids and their abort are
                      not modelled (not a safety guard under WINDOW; a PUT stands for a Complete).
   Design as handed over, where the model found it wrong (each is expected to be reported):
     -DDESIGN_RESOLVE_NO_CTIME   own-dead resolution compares size/mtime/ino only (section 7);
     -DDESIGN_D1_STRICT          D1 as section 5 states it: one outcome per epoch, ever;
     -DDESIGN_REPORT_AS_WRITTEN  the holder reports `migrated` as soon as its create succeeds;
     -DDESIGN_WINDOW_AT          (WINDOW) a revoked epoch's window is measured from e.<n>.at, a
                                 time the revoker read before its create;
     -DDESIGN_WINDOW_ARRIVAL     (WINDOW) the store refuses a late request only if it has not
                                 arrived yet: one that arrived (SigV4 checked) and whose body is
                                 still streaming is applied at any later time.
     -DDESIGN_HIDDEN_RESEND      (WINDOW) the HTTP client resends a PUT cut on a reused
                                 connection by itself and answers with the resend's reply: the
                                 first send may land later, unseen (the fix: every guarded write
                                 on an unversioned bucket goes on a fresh connection, so a cut
                                 is the sender's error, unanswered: jobs/targets/s3_client.ts).
   Other variants: -DWINDOW_MODIFIED_DELETE (WINDOW) the modified path sends a DELETE key of
   its own object as a write of the epoch (signed, checked, ambiguous when unanswered).
   The fixes modelled by default: resolution compares ctime too; a rollback line whose epoch is
   absent and below max is done; the fence check includes n == max (FENCED).
   Mutants: -DMUT_* below; check.sh and README.md say what each removes.

   Invariants:
     I1   (monitor) the current state, if it names the file's current size/mtime/ino, names an
          object (version) that exists, with the content the file had at the check that passed
          (the holder's verify, or the resolver's check);
     I2   (assert at the store when a cleanup DELETE lands) it does not delete what the current
          state names;
     D1   (assert at every e.<n> create) a create that succeeds on an epoch decided before (a
          late re-creation of a GC'd name) is below the current state or carries no state, so
          a re-created outcome never counts; (assert at every GC removal) the current state's
          epoch and epoch max are never removed, so the state that counts never goes back;
     I3'  (assert at every store write of an attempt) the attempt took its epoch legitimately
          (at its create, max was n-1 and epoch n-1 free), and no other legitimately taken
          epoch is undecided (at most one non-revoked holder);
     ONCE (assert at the upload) an attempt that still holds its epoch never uploads a version
          that the current state already commits. */

#ifndef A1
#define A1 2
#endif
#ifndef A2
#define A2 2
#endif
#define ME    5                       /* epochs and attempts 1..4 (index 0 unused) */
#define OWNER(a) ((a) <= 2 -> 1 : 2)  /* attempts 1,2: node 1; 3,4: node 2 */
#define FIRST(id) ((id) == 1 -> 1 : 3)
#define NATT(id)  ((id) == 1 -> A1 : A2)

#define NONE  0
#define COMM  1
#define SKIP  2
#define MODF  3
#define FAIL  4
#define REVK  5

#ifndef MAXC
#define MAXC  1
#endif
#ifndef MAXF
#define MAXF  1
#endif
#ifndef MAXTO
#define MAXTO 1
#endif

#define PUT   1
#define DELV  2
#define DELK  3
#define COMPL 4
#define OK    1
#define REJ   2
#define TO    3

byte fm = 1;                 /* the file's size, mtime, inode as fstat shows them */
byte fc = 1;                 /* its content; also its ctime (every content write changes it) */

byte l[ME];                  /* l.<n>: the attempt that took epoch n (0: absent) */
byte e[ME];                  /* e.<n>: outcome (NONE: absent) */
bit  c[ME];                  /* c.<n> */
bit  eself[ME];              /* e.<n> written by its holder itself */
byte sver[ME];               /* committed state: the version (attempt) it names */
byte smeta[ME];              /* committed state: recorded size/mtime/ino */
byte sgc[ME];                /* ghost: the file's content at the check that passed */

bit  dec[ME];                /* ghost: an outcome was ever decided for epoch n */
bit  legit[ME];              /* ghost, by attempt: took its epoch legitimately */
byte ep[ME];                 /* ghost, by attempt: the epoch it took */
bit  alive[ME];              /* by attempt: its process is alive */
#ifdef MUT_JUDGE_ALIVE_DEAD
byte inc_of[ME];             /* by attempt: the incarnation of its node that ran it */
byte cur_inc[3];
#define SETINC(a) inc_of[a] = inc
#else
#define SETINC(a) skip
#endif
byte nk[3];                  /* attempts started, per node */
byte jl[ME];                 /* journal line of attempt a: its epoch (0: none or done) */
#ifdef FENCED
bit  rec[ME];                /* spool: the upload id of attempt a is recorded */
bit  abrt[ME];               /* store: the upload id of attempt a is aborted */
#endif
#ifdef WINDOW
bit  sgd[ME];                /* by attempt: its current write is signed (X-Amz-Date set) */
bit  xpd[ME];                /* by attempt: that write can no longer be accepted (signed before
                                a window that has passed: 403 RequestTimeTooSkewed) */
bit  amb[ME];                /* e.<n> is `failed` marked ambiguous */
#ifdef DESIGN_WINDOW_AT
bit  pre[ME];                /* by attempt: its write was signed before the revoker read e.<n>.at */
#define PRE0(a) pre[a] = 0
#else
#define PRE0(a) skip
#endif
#define AMB0(j) amb[j] = 0
#else
#define AMB0(j) skip
#endif

#ifdef UNVERSIONED
bit  oex; byte oatt; byte ocont; byte ometa; byte oct;
#else
bit  vex[ME]; byte vcont[ME]; byte vmeta[ME]; byte vct[ME];
#ifdef MUT_DELETE_BY_KEY
byte latest;                 /* the last version put (delete-by-key mutant) */
#define SETLATEST(a) latest = a
#else
#define SETLATEST(a) skip
#endif
#endif

byte crashes = 0; byte fails = 0; byte tos = 0;
bit  fin[3];

/* a crash point: first statement of a node's step; the crash replaces the step */
#define CP  if :: crashes < MAXC -> crashes++; goto crashed :: true -> skip fi
#define CPX(w)  if :: (w) != 3 && crashes < MAXC -> crashes++; goto crashed :: true -> skip fi

#define HAS(j)  (l[j] != 0 || e[j] != NONE)
#define MAX     (HAS(4) -> 4 : (HAS(3) -> 3 : (HAS(2) -> 2 : (HAS(1) -> 1 : 0))))
#define SNOW    (e[4] == COMM -> 4 : (e[3] == COMM -> 3 : (e[2] == COMM -> 2 : (e[1] == COMM -> 1 : 0))))
#define FREE(j) ((j) == 0 || e[j] == COMM || e[j] == SKIP || e[j] == MODF || \
                 ((e[j] == FAIL || e[j] == REVK) && c[j]))
#define UNDEC(b) (legit[b] && !dec[ep[b]])
#define HOLDERS (UNDEC(1) + UNDEC(2) + UNDEC(3) + UNDEC(4))

#ifdef MUT_JUDGE_ALIVE_DEAD
#define DEAD(x) (inc_of[x] < cur_inc[id])    /* judged dead because a newer incarnation runs */
#else
#define DEAD(x) (!alive[x])                  /* its process is gone (pid and start time) */
#endif

#ifdef UNVERSIONED
#define CUR_OK(s) (oex && ocont == sgc[s])
#else
#define CUR_OK(s) (vex[sver[s]] && vcont[sver[s]] == sgc[s])
#endif
#define I1 (SNOW == 0 || smeta[SNOW] != fm || CUR_OK(SNOW))

/* ---------------------------------------------------------------- the store */
/* a request lands: its effect at the store */
inline land(kind, att, cont, meta, ct, cl) {
#ifdef WINDOW
  if
  :: !cl && xpd[att] -> r = REJ                        /* 403 RequestTimeTooSkewed */
  :: else ->
#endif
  if
  :: kind == PUT || kind == COMPL ->
#ifdef FENCED
     if
     :: abrt[att] -> r = REJ                            /* Complete after Abort: 404 */
     :: else ->
#endif
     r = OK;
#ifdef UNVERSIONED
     oex = 1; oatt = att; ocont = cont; ometa = meta; oct = ct
#else
     vex[att] = 1; vcont[att] = cont; vmeta[att] = meta; vct[att] = ct; SETLATEST(att)
#endif
#ifdef FENCED
     fi
#endif
#ifndef UNVERSIONED
  :: kind == DELV ->
     assert(!cl || SNOW == 0 || sver[SNOW] != att);    /* I2 */
     vex[att] = 0; r = OK
#ifdef MUT_DELETE_BY_KEY
  :: kind == DELK ->                                    /* removes the latest version */
     assert(!cl || SNOW == 0 || sver[SNOW] != latest); /* I2 */
     vex[latest] = 0; latest = 0; r = OK
#endif
#else
  :: kind == DELK ->
     assert(!cl || SNOW == 0);                          /* I2 */
     oex = 0; oatt = 0; ocont = 0; ometa = 0; oct = 0; r = OK
#endif
  fi
#ifdef WINDOW
  fi
#endif
}

/* A request whose sender waits for the reply lands at the send: the time it spends in flight
   is, for everyone else, a pause of its sender before the send. One that its sender gives up
   on (timeout) stays queued and lands at any later time, or never. */
byte qk; byte qa; byte qcont; byte qmeta; byte qct; bit qcl;
#ifdef DESIGN_WINDOW_ARRIVAL
bit  qarr;                   /* the queued request has arrived (SigV4 checked), body streaming */
#define QARR0 qarr = 0
#else
#define QARR0 skip
#endif

#if MAXTO > 0
active proctype store() {
  byte r;
end:
  do
  :: atomic { qk != 0 -> land(qk, qa, qcont, qmeta, qct, qcl);
              qk = 0; qa = 0; qcont = 0; qmeta = 0; qct = 0; qcl = 0; QARR0; r = 0 }
#ifdef DESIGN_WINDOW_ARRIVAL
  :: atomic { qk != 0 && !qarr -> qarr = 1 }       /* arrives; applied when its body ends */
#endif
  od
}
#endif

/* send a request: r = OK (landed, reply received), REJ (rejected), TO (no reply: landed and
   the reply was lost, or still in flight) */
inline request(kind, att, cont, meta, ct, cl, who) {
  atomic {
    CPX(who);
    if
    :: land(kind, att, cont, meta, ct, cl)
    :: (kind == PUT || kind == COMPL) && fails < MAXF -> fails++; r = REJ
    :: (kind == PUT || kind == COMPL) && fails < MAXF -> fails++; land(kind, att, cont, meta, ct, cl); r = TO
    :: tos < MAXTO -> tos++; r = TO;
       qk = kind; qa = att; qcont = cont; qmeta = meta; qct = ct; qcl = cl
#ifdef DESIGN_HIDDEN_RESEND
    /* the HTTP client's own resend (Bun's fetch, a PUT cut on a reused keep-alive connection):
       the first send stays queued and may land later; the resend, the same signed request,
       lands and is answered; the sender sees one write, answered */
    :: kind == PUT && tos < MAXTO -> tos++; land(kind, att, cont, meta, ct, cl); r = OK;
       qk = kind; qa = att; qcont = cont; qmeta = meta; qct = ct; qcl = cl
#endif
    fi
  }
}

#ifdef WINDOW
#define AMBSET(n) amb[n] = (am && o == FAIL)   /* `failed`, marked ambiguous */
#define AMBGET(n) am = amb[n]
#else
#define AMBSET(n) skip
#define AMBGET(n) skip
#endif

/* decide e.<n> by create (am: a `failed` outcome is ambiguous). On EEXIST: got = 0, o = the
   outcome found, cc = c.<n>, am = its ambiguity mark. */
inline decide(n, o, self, ver, meta, gc) {
#ifdef MUT_DECIDE_SET
  if :: true ->
#else
  if :: e[n] == NONE ->
#endif
#ifdef DESIGN_D1_STRICT
     assert(!dec[n]);                                 /* D1 as written: one outcome, ever */
#else
     assert(!dec[n] || n < SNOW || o != COMM);        /* D1: a re-decided epoch never counts */
#endif
     e[n] = o; dec[n] = 1; eself[n] = self; AMBSET(n);
     if :: o == COMM -> sver[n] = ver; smeta[n] = meta; sgc[n] = gc
        :: else -> sver[n] = 0; smeta[n] = 0; sgc[n] = 0 fi;
     got = 1
  :: else -> o = e[n]; cc = c[n]; AMBGET(n); got = 0
  fi
}

#ifdef WINDOW
#if defined(MUT_WINDOW_NO_WAIT_AMBIGUOUS)
#define WAITS (o == REVK)            /* an ambiguous failure is cleaned at once */
#elif defined(MUT_WINDOW_NO_WAIT_REVOKED)
#define WAITS (am)                   /* a revoked epoch is cleaned at once */
#else
#define WAITS (o == REVK || am)      /* ambiguous or revoked: wait the window */
#endif
/* The window W passes for epoch m: one step of a cleaner that has seen e.<m> decided. Every
   write of m's attempts signed before it can no longer be accepted by the store. A write
   signed later survives (the forbidden order of MUT_WINDOW_CHECK_FIRST, or a write signed
   after the revoker read e.<m>.at under DESIGN_WINDOW_AT). */
inline window(m, who) {
  atomic {
    CPX(who);
    j = 1;
    do
    :: j < ME ->
       if
#ifdef DESIGN_WINDOW_AT
       :: ep[j] == m && sgd[j] && (o != REVK || pre[j]) -> xpd[j] = 1  /* W from e.<m>.at */
#else
       :: ep[j] == m && sgd[j] -> xpd[j] = 1
#endif
       :: else -> skip
       fi; j++
    :: else -> break
    od; j = 0;
#ifdef DESIGN_WINDOW_ARRIVAL
    if :: qk != 0 && qarr && !qcl -> xpd[qa] = 0 :: else -> skip fi;  /* arrived: not refused */
#endif
    if :: qk != 0 && !qcl && xpd[qa] ->                  /* the store will refuse it: drop it */
          qk = 0; qa = 0; qcont = 0; qmeta = 0; qct = 0; QARR0
       :: else -> skip fi
  }
}
#endif

/* cleanup of epoch m of attempt x (e.<m> failed or revoked, no c.<m>), then c.<m> */
inline clean(m, x, who) {
#ifdef WINDOW
  if :: WAITS -> window(m, who) :: else -> skip fi;   /* o, am: the outcome the cleaner saw */
#endif
#ifdef FENCED
  atomic { CPX(who); h = rec[x] };                 /* the upload id recorded in the spool */
  if :: atomic { h -> CPX(who); abrt[x] = 1; h = 0 }   /* AbortMultipartUpload */
     :: else -> skip fi;
#elif !defined(WINDOW) || defined(MUT_WINDOW_DELETE_ROLLBACK)
  do
  :: atomic {
       CPX(who);
#ifdef UNVERSIONED
       h = (oex && oatt == x);                     /* HEAD key: carries the attempt? */
#else
#ifdef MUT_DELETE_BY_KEY
       h = (latest == x && vex[x]);                /* HEAD key: the latest version is the attempt's */
#else
       h = vex[x];                                 /* list versions: one carries the attempt? */
#endif
#endif
       if :: !h -> break :: else -> h = 0 fi
     };
#ifdef UNVERSIONED
     atomic {
       CPX(who);
#ifdef MUT_NO_STATE_TEST
       cc = 0;
#else
       cc = (SNOW != 0);                           /* does the current state name the key? */
#endif
       if :: cc -> cc = 0; break :: else -> skip fi
     };
     request(DELK, x, 0, 0, 0, 1, who);
#else
#ifdef MUT_DELETE_BY_KEY
     request(DELK, x, 0, 0, 0, 1, who);
#else
     request(DELV, x, 0, 0, 0, 1, who);
#endif
#endif
     if :: r == OK -> r = 0; break :: else -> r = 0 fi
  od;
#endif
  atomic { CPX(who); c[m] = 1 }                     /* create c.<m> (EEXIST: fine) */
}

/* ---------------------------------------------------------------- a node */
proctype node(byte id; byte inc) {
  byte a, m, n, x, o, rm, rc, r, i, j, y, cfc, hm, hc, mask;
  bit got, cc, h, resume;
#ifdef WINDOW
  bit am;                                         /* the outcome is (or was found) ambiguous */
#define AM0 am = 0
#else
#define AM0 skip
#endif
  resume = (inc > 1);
again:
  do
  :: atomic {
       if
       :: resume -> a = 0
       :: !resume && nk[id] < NATT(id) ->
          nk[id]++; a = FIRST(id) - 1 + nk[id]; alive[a] = 1; SETINC(a)
       :: !resume && nk[id] >= NATT(id) -> break
       fi
     };
view:                                             /* view: flistxattr, fgetxattr, fstat */
     atomic {
       CP;
       m = MAX; o = e[m]; x = l[m];
#ifdef WINDOW
       am = amb[m];
#endif
       if
       :: FREE(m) ->
          if
          :: resume || (SNOW != 0 && smeta[SNOW] == fm) -> goto visited      /* skipped */
          :: else -> n = m + 1
          fi
       :: o == NONE && x != 0 && OWNER(x) == id && DEAD(x) -> goto resolve  /* own dead attempt */
       :: o == FAIL && !c[m] && x != 0 && OWNER(x) == id -> goto cleanheld  /* own failed epoch */
       :: else -> goto visited                                             /* busy */
       fi;
       m = 0; o = 0; x = 0; AM0
     };
     atomic {                                     /* take epoch n */
       CP;
#ifdef MUT_NO_EXCL_TAKE
       if :: true ->
#else
       if :: l[n] == 0 ->
#endif
          legit[a] = (MAX == n - 1 && FREE(n - 1)); l[n] = a; ep[a] = n
       :: else -> goto visited                    /* EEXIST: busy */
       fi
     };
     atomic {                                     /* view after take, and the fstat */
       CP;
#ifndef MUT_NO_TAKE_VIEW
       if :: MAX != n -> goto visited :: else -> skip fi;     /* late re-creation: abandon */
#endif
#ifndef MUT_NO_RECHECK
       if :: SNOW != 0 && smeta[SNOW] == fm -> o = SKIP; goto decide_own :: else -> skip fi;
#endif
       rm = fm; rc = fc                           /* the stat the commit records */
     };
#if defined(FENCED) && !defined(MUT_FENCE_NO_CHECK)
     atomic { CP; rec[a] = 1 };                   /* upload id into the spool */
     atomic { CP;                                 /* the fence check: still our live epoch? */
#ifdef MUT_FENCE_E_ONLY
              if :: e[n] != NONE -> goto visited :: else -> skip fi };  /* e.<n> absent only */
#else
              if :: e[n] != NONE || MAX != n -> goto visited :: else -> skip fi };
#endif
#endif
#ifdef WINDOW
#ifndef MUT_WINDOW_CHECK_FIRST
     atomic { CP; sgd[a] = 1; xpd[a] = 0; PRE0(a) };          /* sign: X-Amz-Date = now */
#endif
     atomic { CP;                                 /* the check: still our live epoch? */
              if :: e[n] != NONE || MAX != n -> sgd[a] = 0; goto visited :: else -> skip fi };
#ifdef MUT_WINDOW_CHECK_FIRST
     atomic { CP; sgd[a] = 1; xpd[a] = 0; PRE0(a) };          /* signed after its check */
#endif
#endif
     atomic {
       assert(legit[a] && HOLDERS <= 1);                      /* I3' */
       assert(dec[n] || SNOW == 0 || smeta[SNOW] != rm)       /* ONCE */
     };
#ifdef MUT_FENCE_NO_CHECK
     atomic { CP; rec[a] = 1 };                   /* upload id into the spool, no check after */
#endif
#ifdef FENCED
     request(COMPL, a, fc, rm, rc, 0, id);        /* content read now */
#else
     request(PUT, a, fc, rm, rc, 0, id);
#endif
     atomic {                                     /* verify: fstat */
#ifdef WINDOW
       if :: r != TO -> sgd[a] = 0 :: else -> skip fi;      /* answered: done with */
#ifdef MUT_WINDOW_DECIDE_UNANSWERED
       am = 0;                                    /* no answer, decided as if answered */
#else
       am = (r == TO);                            /* no answer: ambiguous */
#endif
#endif
       if :: r != OK -> r = 0; goto failed :: else -> r = 0 fi;
       CP;
       cfc = fc;
#ifdef MUT_LATER_STAT
       rm = fm; rc = fc;                          /* commit the later stat, no comparison */
#else
#ifdef MUT_NO_CTIME
       if :: fm != rm -> goto modified :: else -> skip fi;
#else
       if :: fm != rm || fc != rc -> goto modified :: else -> skip fi;
#endif
#endif
       o = COMM
     };
decide_own:
     atomic { CP; decide(n, o, 1, a, rm, cfc);
#ifdef DESIGN_REPORT_AS_WRITTEN
              assert(!got || o != COMM || n == SNOW);   /* reported migrated: is it what counts? */
#endif
              rm = 0; rc = 0; cfc = 0; o = 0; cc = 0;
              if :: got -> got = 0; goto gc :: else -> goto visited fi };   /* EEXIST: revoked */

modified:
#if defined(WINDOW) && defined(WINDOW_MODIFIED_DELETE)
     /* a DELETE by key of its own object, sent as a write of the epoch: signed, checked, and
        ambiguous if unanswered (rules 2 and 3 applied to it; rule 1 broken) */
     atomic { CP; sgd[a] = 1; xpd[a] = 0; PRE0(a) };
     atomic { CP; if :: e[n] != NONE || MAX != n -> sgd[a] = 0; goto visited :: else -> skip fi };
     atomic { assert(legit[a] && HOLDERS <= 1) };             /* I3' */
     request(DELK, a, 0, 0, 0, 0, id);
     atomic { if :: r != TO -> sgd[a] = 0 :: else -> skip fi;
              if :: r == TO -> r = 0; am = 1; goto failed :: else -> r = 0 fi };
#elif !defined(FENCED) && (!defined(WINDOW) || defined(MUT_WINDOW_DELETE_MODIFIED))
     atomic { assert(legit[a]) };                              /* I3' */
#ifdef UNVERSIONED
     request(DELK, a, 0, 0, 0, 0, id);
#else
     request(DELV, a, 0, 0, 0, 0, id);
#endif
     r = 0;
#endif
     o = MODF; goto decide_own;

failed:
     atomic { CP; jl[a] = n; o = FAIL };          /* journal line (path, ino, epoch, attempt) */
     goto decide_own;

gc:                                               /* GC by the holder: view, then removals */
     atomic {
       CP;
       m = MAX; mask = 0; j = 1;
       do
       :: j < ME ->
          if
#ifdef MUT_GC_MAX
          :: j <= m && j != SNOW && (j < SNOW || eself[j]) -> mask = mask | (1 << j)
#else
          :: j < m && j < SNOW -> mask = mask | (1 << j)
          :: j < m && j > SNOW && eself[j] &&
             (e[j] == SKIP || e[j] == MODF || (e[j] == FAIL && c[j])) -> mask = mask | (1 << j)
#endif
#ifdef MUT_GC_REVK
          :: j < m && j > SNOW && e[j] == REVK && c[j] -> mask = mask | (1 << j)
#endif
          :: else -> skip
          fi; j++
       :: else -> break
       od; j = 0; m = 0;
       if :: mask == 0 -> goto visited :: else -> skip fi
     };
     atomic {                                     /* fremovexattr of each name chosen */
       CP;
       j = 1;
       do
       :: j < ME ->
          if
          :: mask & (1 << j) ->
             assert(j != SNOW);                                 /* D1: s never goes back */
             assert(j < MAX || !HAS(j));                        /* D1: max never goes back */
             l[j] = 0; e[j] = NONE; c[j] = 0; eself[j] = 0; sver[j] = 0; smeta[j] = 0; sgc[j] = 0;
             AMB0(j)
          :: else -> skip
          fi; j++
       :: else -> break
       od;
       mask = 0; j = 0; goto visited
     };

cleanheld:                                        /* our node's failed epoch m: clean it now */
     clean(m, x, id);
     atomic { x = 0; m = 0; o = 0; AM0; goto view };

resolve:                                          /* own dead attempt x of epoch m */
     atomic {
       CP;
#ifdef UNVERSIONED
       h = (oex && oatt == x); hm = ometa; hc = oct        /* HEAD */
#else
       h = vex[x]; hm = vmeta[x]; hc = vct[x]              /* list versions, HEAD */
#endif
     };
     atomic {                                             /* fstat */
       CP;
       cfc = fc;
#ifdef DESIGN_RESOLVE_NO_CTIME
       if :: h && hm == fm -> o = COMM
#else
       if :: h && hm == fm && hc == fc -> o = COMM
#endif
       :: else -> o = FAIL; hm = 0
       fi; h = 0; hc = 0
     };
     atomic { CP;
#ifdef WINDOW
              am = 1;                             /* its writes may be in flight: ambiguous */
#endif
              decide(m, o, 0, x, hm, cfc); hm = 0; cfc = 0;
              if :: got && o == FAIL -> got = 0 :: else -> got = 0; goto resolved fi };
     atomic { CP; jl[x] = m };                            /* journal */
     clean(m, x, id);
resolved:
     atomic { o = 0; cc = 0; m = 0; x = 0; AM0; goto view };

visited:                                          /* rollback: this node's journal lines */
     atomic { a = 0; n = 0; o = 0; rm = 0; rc = 0; cfc = 0; cc = 0; m = 0; x = 0; AM0; y = FIRST(id) };
     do
     :: atomic {
          do :: y < FIRST(id) + 2 && jl[y] == 0 -> y++ :: else -> break od;
          if :: y == FIRST(id) + 2 -> y = 0; break :: else -> skip fi;
          CP;
          n = jl[y]; m = MAX; o = e[n]; cc = c[n]; x = l[n];  /* read the line, view */
#ifdef WINDOW
          am = amb[n];
#endif
          if
          :: o == NONE && x == y && n == m && !alive[y] -> skip   /* decide failed on behalf */
          :: o == NONE && (x != y || n != m || alive[y]) -> goto cursor   /* GC'd: done */
          :: else -> goto rbclean
          fi;
          m = 0; x = 0
        };
        atomic { CP; o = FAIL;
#ifdef WINDOW
                 am = 1;                          /* on behalf of a dead attempt: ambiguous */
#endif
                 decide(n, o, 0, 0, 0, 0) };
rbclean:
        if
        :: (o == FAIL || o == REVK) && !cc -> clean(n, y, id)
        :: else -> skip
        fi;
cursor:
        atomic { CP; jl[y] = 0; n = 0; m = 0; o = 0; cc = 0; x = 0; got = 0; AM0 }   /* the cursor */
     od;
     resume = 0
  od;
  fin[id] = 1;
  goto theend;

crashed:
  atomic {                                        /* crashed: requests it sent stay sent */
    alive[FIRST(id)] = 0; alive[FIRST(id) + 1] = 0;
#ifdef MUT_JUDGE_ALIVE_DEAD
    cur_inc[id]++; inc = cur_inc[id];
#endif
    resume = 1;
    a = 0; m = 0; n = 0; x = 0; o = 0; rm = 0; rc = 0; r = 0; i = 0; j = 0; y = 0;
    cfc = 0; hm = 0; hc = 0; mask = 0; got = 0; cc = 0; h = 0; AM0;
    goto again
  };
theend:
  skip
}

#ifdef MUT_JUDGE_ALIVE_DEAD
/* a second scheduler starts while the first is alive (a zombie that the single-instance check
   took for dead); the new incarnation judges the old one's attempts dead */
active proctype zombie_restart() {
end:
  atomic { crashes < MAXC && !fin[1] -> crashes++; cur_inc[1]++; run node(1, cur_inc[1]) }
}
#endif

active proctype writer() {
  if
  :: atomic { fm++; fc++ }                 /* size or mtime change */
#ifdef RESTORE
  :: fc++                                  /* content and ctime change; size and mtime restored */
#endif
  fi
}

#ifdef RECOVER
/* recover --node N --force: decide e.<m> = revoked for N's held epoch, then clean it */
proctype recover() {
  byte m, x, o, r;
  bit got, cc, h;
#ifdef WINDOW
  byte j; bit am;
#endif
  atomic {                                 /* N: the node holding the file's epoch max */
    m = MAX; o = e[m]; x = l[m]; cc = c[m];
#ifdef WINDOW
    am = amb[m];
#endif
    if :: x != 0 -> skip :: else -> goto done fi
  };
  if
  :: o == NONE ->
#ifdef DESIGN_WINDOW_AT
     atomic {                              /* at = now (the time e.<m> will carry) */
       j = 1;
       do
       :: j < ME -> if :: ep[j] == m && sgd[j] -> pre[j] = 1 :: else -> skip fi; j++
       :: else -> break
       od; j = 0
     };
#endif
#ifndef MUT_CLEAN_UNDECIDED
     atomic { o = REVK; decide(m, o, 0, 0, 0, 0) }
#else
     o = REVK                              /* cleans without deciding first */
#endif
  :: else -> skip
  fi;
  if :: (o == FAIL || o == REVK) && !cc -> clean(m, x, 3) :: else -> skip fi;
done:
crashed:                                   /* recover does not crash in this model */
  skip
}
#endif

active proctype monitor() {
end:
  atomic { !I1 -> assert(false) }          /* I1 */
}

init {
  atomic {
#ifdef MUT_JUDGE_ALIVE_DEAD
    cur_inc[1] = 1; cur_inc[2] = 1;
#endif
    run node(1, 1); run node(2, 1)
#ifdef RECOVER
    ; run recover()
#endif
  }
}
