/* tier.pml -- release and restore (BRIEF 9, docs/tiering.md) on protocol v2's per-file records.

   Concern: release is the only step that destroys data on the source. Can release, restore,
   migrate, a writer, a crash and the store (or someone behind tiermv's back) combine so that a
   user's bytes exist nowhere, a stub's object is overwritten, or restore writes over bytes that
   are not the stub's?

   Abstractions (migrate.pml models the epoch records themselves; here they are one step each):
   - The file's content is a value: STUB (empty), C1 (the bytes migrate committed), WB (a
     writer's bytes, the same size as C1: only the mtime tells them apart), P1/P2 (a prefix of
     C1/WB: restore wrote its first chunk), BAD (other bytes). `fm` is the mtime (0 = the one the
     state records), `ct` the ctime (a counter: every data, time and xattr change moves it).
   - Epochs: `held` is the holder of the file's open epoch (take = l.<n> with XATTR_CREATE, so
     busy when held; decide = e.<n>, which frees it). A decision with a state sets the state that
     counts (st, sk, sc, sm: released or migrated, its key, the bytes its object holds, its
     mtime). A crashed holder's epoch is resolved (decided failed, nothing to clean) when its
     node restarts.
   - `lk` is flock(LOCK_EX|LOCK_NB) on the descriptor (test/ceph/flock.test.ts: exclusive across
     ceph-fuse clients, freed by the kernel at the holder's death). Migrate does not flock.
   - The store is unversioned (the weaker case): obj[k] is what key k holds now. With -DVSTORE it
     keeps versions where migrate is concerned: migrate's PUT makes a new version (slot KV),
     leaving the version a state names as it was, so that migrate may upload a stub written to
     (jobs/file/stub.ts) and must refuse a stub holding its object's first bytes.
   - A writer never restores the mtime: a write that keeps size and mtime is invisible to the
     v2 identity (size, mtime, ino) for migrate as for release (--verify-content catches it).

   Bounds: node 1 releases, node 2 restores (with -DTWO also node 3 releases and node 4
   restores); MAXC crashes (default 1) of any of them at any step, after which it restarts once
   and tries again; 1 write of the file at any time; 1 migrate attempt; 1 PUT to key B by the
   migrate of another file at path B; with -DADV, 1 deletion or overwrite of key A behind
   tiermv's back. With -DKEYB the state may initially name key B (a file renamed here from B,
   or a target that changed).

   Invariants:
     NOLOSS (monitor) the bytes a user last gave the file (`truth`) are in the file, or in the
            object the state that counts names, with that state naming them;
     I5     (monitor) while the state is `released` and the file no longer holds its bytes, its
            object holds them (unless the object was destroyed behind tiermv's back after
            release's HEAD check: `advlate`);
     I6     (assert at every write of restore) restore writes only over a prefix of the state's
            bytes (the stub, a partial restore, or the intact file);
     I1     (monitor) a `migrated` state whose size and mtime the file matches names the file's
            bytes (restore's futimens must not dress a writer's bytes as the restored ones);
     I7     (assert at the truncate) release truncates only the state's bytes, under its own
            current `released` decision. Excused: a write that lands between the re-check and
            the truncate (the window I7 states; ghost `i7`), and for I6 a write that lands
            between restore's ctime check and its pwrite, or between a take-back's ctime check
            and its truncate, or a write in place (the size kept: P2 over restore's P1) between
            a pwrite and the fstat after it (ghost `i6w`, from `rstwin` and `rstpw`). ctime is a
            perfect counter here: the code's ctime has the kernel clock's tick granularity,
            which widens I6's windows by a write in place within the tick of restore's last
            write (docs/tiering.md).
   Take-back: when the store fails (or the object changes, or a stop outlasts its grace) after
   a chunk is written, restore truncates its bytes back out (to the size it found) unless the
   ctime or the size moved since its last baseline (`base`, `bsz`); modelled after chunk 1 (after chunk 2 no GET is left).
   A failed pwrite takes them back out unconditionally (failedWrite), at either chunk.
   Mutants: MUT_REL_NO_HEAD, MUT_REL_NO_LOCK, MUT_REL_OTHER_KEY, MUT_REL_NO_RECHECK,
   MUT_RST_NO_LOCK, MUT_RST_DIRTY, MUT_RST_NO_CHUNK_FENCE, MUT_RST_NO_TIMES_FENCE, MUT_RST_NO_VERIFY,
   MUT_RST_NO_WRITTEN_SIZE, MUT_RST_TAKEBACK_NO_FENCE, MUT_MIGRATE_STUB, MUT_MIGRATE_PREFIX (with
   VSTORE: migrate uploads any stub with bytes, its object's first bytes too);
   DESIGN_TRUNC_FIRST (truncate, then decide). */

#ifndef MAXC
#define MAXC 1
#endif

#define STUB 0
#define C1   1
#define WB   2
#define P1   3
#define P2   4
#define BAD  5
#define GONE 6
#define KA   0
#define KB   1
#define KV   2                       /* -DVSTORE: the version migrate's PUT to key A makes */
#define MIGR 1
#define RELD 2
#define MIG  9                       /* the migrate attempt's id */

#define SZ(x)         ((x) == STUB -> 0 : (((x) == P1 || (x) == P2) -> 1 : 2))
#define PREFIX(s)     ((s) + 2)
#define PREFIX_OF(x, s) ((x) == STUB || (x) == (s) || (x) == PREFIX(s))
#define UNCHANGED     (SZ(fc) == SZ(sc) && fm == sm)
/* x truncated to n units (0 or 1 in the take-backs modelled: an intact file gets no chunk, so
   none truncates to 2): the bytes before n stay what they were */
#define TRUNC(x, n)   ((n) == 0 -> STUB : ((n) == 2 -> (x) : \
                        (((x) == C1 || (x) == P1) -> P1 : (((x) == WB || (x) == P2) -> P2 : BAD))))

byte fc = C1; bit fm = 0; byte ct = 0;          /* the file: content, mtime, ctime */
byte obj[3];                                    /* the store: what each key (version) holds */
byte st = MIGR; byte sk = KA; byte sc = C1; bit sm = 0; byte sby = 0;   /* the state */
byte held = 0;                                  /* the open epoch's holder */
byte lk = 0;                                    /* the flock holder */
byte crashes = 0;
/* ghosts */
byte truth = C1;                                /* the bytes a user last gave the file */
bit headok = 0;                                 /* a release's HEAD check passed */
bit advlate = 0;                                /* the object destroyed after a HEAD passed */
bit relwin = 0; bit i7 = 0;                     /* release: between re-check and truncate */
bit rstwin = 0; bit i6w = 0;                    /* restore: ctime check to pwrite or truncate */
bit rstpw = 0;                                  /* restore: between a pwrite and its fstat */
bit dirty = 0;                                  /* reported: a stub someone wrote to */

#define NOLOSS (fc == truth || (obj[sk] == truth && sc == truth) || advlate || i7 || i6w)
#define I5     (st != RELD || fc == sc || obj[sk] == sc || advlate)
/* I1 (protocol-v2.md 9), as restore must keep it: a migrated state whose identity (size, mtime)
   the file matches names the file's bytes */
#define I1     (st != MIGR || !UNCHANGED || fc == sc || i6w || i7)

inline unlock(me) { atomic { if :: lk == me -> lk = 0 :: else -> skip fi } }
inline resolve(me) { atomic { if :: held == me -> held = 0; ct++ :: else -> skip fi } }

/* crash: the process dies here; the kernel frees its flock; its epoch stays held until its node
   restarts and resolves it (protocol-v2.md section 7) */
#define CRASH(win) if :: crashes < MAXC -> atomic { crashes++; win = 0; if :: lk == me -> lk = 0 :: else -> skip fi }; goto dead :: true -> skip fi
/* a restorer's crash also ends its pwrite-to-fstat window */
#define CRASH_R if :: crashes < MAXC -> atomic { crashes++; rstwin = 0; rstpw = 0; if :: lk == me -> lk = 0 :: else -> skip fi }; goto dead :: true -> skip fi

proctype releaser(byte me) {
  bit restarted = 0;
again:
#ifndef MUT_REL_NO_LOCK
  atomic { if :: lk == 0 -> lk = me :: else -> goto out fi }           /* busy */
#endif
  CRASH(relwin);
  atomic { if :: held == 0 -> held = me; ct++ :: else -> goto done fi } /* take l.<n> */
  CRASH(relwin);
  /* view and fstat: a commit for this path and target, the file unchanged since */
  atomic {
    if
#ifdef MUT_REL_OTHER_KEY
    :: st == MIGR && UNCHANGED -> skip
#else
    :: st == MIGR && sk == KA && UNCHANGED -> skip
#endif
    :: else -> held = 0; ct++; goto done                              /* refused */
    fi
  }
  CRASH(relwin);
  /* HEAD the object the state names: size, ETag, attempt */
  atomic {
    if
#ifdef MUT_REL_NO_HEAD
    :: true -> headok = 1
#else
    :: obj[sk] == sc -> headok = 1
#endif
    :: else -> held = 0; ct++; goto done                              /* refused: lost/different */
    fi
  }
  CRASH(relwin);
#ifndef DESIGN_TRUNC_FIRST
  atomic { st = RELD; sby = me; held = 0; ct++ }                       /* decide e.<n> released */
  CRASH(relwin);
#endif
  /* re-check under the lock, right before the truncate: the decision still counts (n = max)
     and the file unchanged */
  atomic {
    if
#ifdef MUT_REL_NO_RECHECK
    :: true -> relwin = 1
#else
#ifdef DESIGN_TRUNC_FIRST
    :: UNCHANGED -> relwin = 1
#else
    :: st == RELD && sby == me && UNCHANGED -> relwin = 1
#endif
#endif
    :: else -> goto done                                              /* reported: changed */
    fi
  }
  CRASH(relwin);
  atomic {                                                             /* ftruncate(0) */
#ifndef DESIGN_TRUNC_FIRST
    assert(fc == sc && st == RELD && sby == me || i7 || i6w);          /* I7 */
#endif
    fc = STUB; fm = 1; ct++; relwin = 0
  }
  CRASH(relwin);
#ifdef DESIGN_TRUNC_FIRST
  atomic { st = RELD; sby = me; held = 0; ct++ }
  CRASH(relwin);
#endif
  atomic { fm = sm; ct++ }                                             /* futimens */
done:
  unlock(me);
  goto out;
dead:
  if
  :: !restarted -> restarted = 1; resolve(me); goto again
  :: else -> skip
  fi;
out:
  skip
}

/* a failed pwrite (ENOSPC, EDQUOT, an I/O error): restore takes its bytes back out whatever the
   ctime says (its own failed write may have moved it), so a write since the chunk's fence is cut
   off with them: I6's window, the ghost `rstwin` still set from the fence */
inline failedWrite() {
  atomic {                                                             /* ftruncate(start) */
    assert(PREFIX_OF(fc, sc) || i6w);                                  /* I6: only our bytes */
    fc = TRUNC(fc, SZ(startc)); ct++; rstwin = 0
  }
  CRASH_R;
  atomic { fm = startm; ct++ }                                         /* futimens(start) */
  CRASH_R;
  atomic { held = 0; ct++ };                                           /* given back */
  goto done
}

proctype restorer(byte me) {
  bit restarted = 0;
  byte base = 0;
  byte got = 0;
  byte startc = 0; bit startm = 0;                /* the file as the restore found it */
  byte bsz = 0;                                   /* the baseline's size (base: its ctime) */
again:
#ifndef MUT_RST_NO_LOCK
  atomic { if :: lk == 0 -> lk = me :: else -> goto out fi }
#endif
  CRASH_R;
  atomic { if :: held == 0 -> held = me; ct++ :: else -> goto done fi } /* take: "restoring" */
  CRASH_R;
  atomic { if :: st == RELD -> skip :: else -> held = 0; ct++; goto done fi }
  CRASH_R;
  /* HEAD/GET the object the state names; a missing or different one is `lost` (untouched) */
  atomic {
    got = obj[sk];
    if
#ifdef MUT_RST_NO_VERIFY
    :: true -> skip
#else
    :: got == sc -> skip
#endif
    :: else -> held = 0; ct++; goto done
    fi
  }
  CRASH_R;
  /* fstat (the ctime baseline), then the file must hold a prefix of the object's bytes (the
     stub, an interrupted restore, the intact file); anything else is `dirty`, never written */
  atomic {
    base = ct; bsz = SZ(fc); startc = fc; startm = fm;
    if
#ifdef MUT_RST_DIRTY
    :: true -> skip
#else
    :: PREFIX_OF(fc, sc) -> skip
#endif
    :: else -> dirty = 1; held = 0; ct++; goto done
    fi
  }
  CRASH_R;
  /* the copy starts where the file's prefix ends: chunk 1 into the stub, chunk 2 into the stub
     or a restore's first half; an intact file (a release stopped before its truncate) gets
     none: only the verify */
  if
  :: SZ(startc) == 0 ->
    /* chunk 1: fstat, ctime and size unchanged since the baseline, then pwrite */
    atomic {
      if
#ifdef MUT_RST_NO_CHUNK_FENCE
      :: true -> rstwin = 1
#else
      :: ct == base && SZ(fc) == 0 -> rstwin = 1
#endif
      :: else -> dirty = 1; held = 0; ct++; goto done
      fi
    }
    CRASH_R;
    if :: true -> skip :: true -> failedWrite() fi;
    atomic {
      assert(PREFIX_OF(fc, sc) || i6w);                                  /* I6 */
      if :: got == sc -> fc = PREFIX(sc) :: else -> fc = BAD fi;
      fm = 1; ct++; rstwin = 0; rstpw = 1
    }
    CRASH_R;
    /* fstat: the new baseline, which must be the size written (a write that grew the file since
       the pwrite would be taken for ours by a take-back: `dirty`, kept) */
    atomic {
      rstpw = 0;
      if
#ifdef MUT_RST_NO_WRITTEN_SIZE
      :: true -> base = ct; bsz = SZ(fc)
#else
      :: SZ(fc) == 1 -> base = ct; bsz = SZ(fc)
#endif
      :: else -> dirty = 1; held = 0; ct++; goto done
      fi
    }
    CRASH_R;
    /* the GET of chunk 2 fails (the store down, the object changed, a stop past its grace): take
       back our bytes unless the ctime moved since the baseline, then the error goes up */
    if
    :: true -> skip
    :: true ->
      atomic {
        if
#ifdef MUT_RST_TAKEBACK_NO_FENCE
        :: true -> rstwin = 1
#else
        :: ct == base && SZ(fc) == bsz -> rstwin = 1
#endif
        :: else -> held = 0; ct++; goto done                             /* left: someone wrote */
        fi
      }
      CRASH_R;
      atomic {                                                           /* ftruncate(start) */
        assert(PREFIX_OF(fc, sc) || i6w);                                /* I6: only our bytes */
        fc = TRUNC(fc, SZ(startc)); ct++; rstwin = 0
      }
      CRASH_R;
      atomic { fm = startm; ct++ }                                       /* futimens(start) */
      CRASH_R;
      atomic { held = 0; ct++ }                                          /* decided failed */
      goto done
    fi;
  :: else -> skip
  fi;
  if
  :: SZ(startc) <= 1 ->
    atomic {                                                             /* chunk 2 */
      if
#ifdef MUT_RST_NO_CHUNK_FENCE
      :: true -> rstwin = 1
#else
      :: ct == base && SZ(fc) == 1 -> rstwin = 1
#endif
      :: else -> dirty = 1; held = 0; ct++; goto done
      fi
    }
    CRASH_R;
    if :: true -> skip :: true -> failedWrite() fi;
    atomic {
      assert(PREFIX_OF(fc, sc) || i6w);                                  /* I6 */
      if :: got == sc && fc == PREFIX(sc) -> fc = sc :: else -> fc = BAD fi;
      fm = 1; ct++; rstwin = 0   /* no take-back follows the last pwrite: the verify finds a
                                    write in place there, so no rstpw */
    }
    CRASH_R;
    atomic {                                                             /* fstat: the size written */
      if
#ifdef MUT_RST_NO_WRITTEN_SIZE
      :: true -> base = ct; bsz = SZ(fc)
#else
      :: SZ(fc) == 2 -> base = ct; bsz = SZ(fc)
#endif
      :: else -> dirty = 1; held = 0; ct++; goto done
      fi
    }
  :: else -> skip
  fi;
  CRASH_R;
  /* verify: the file's digest is the state's (md5, or the multipart ETag from the part size) */
  atomic {
    if
#ifdef MUT_RST_NO_VERIFY
    :: true -> skip
#else
    :: fc == sc -> skip
#endif
    :: else -> dirty = 1; held = 0; ct++; goto done
    fi
  }
  CRASH_R;
  /* fsync; fstat: ctime unchanged since the last baseline, then futimens (the original mtime):
     without this fence the futimens hides a write that landed after the verify */
  atomic {
    if
#ifdef MUT_RST_NO_TIMES_FENCE
    :: true -> rstwin = 1
#else
    :: ct == base -> rstwin = 1
#endif
    :: else -> dirty = 1; held = 0; ct++; goto done
    fi
  }
  CRASH_R;
  atomic { fm = sm; ct++; rstwin = 0 }                                 /* futimens */
  CRASH_R;
  atomic { st = MIGR; sby = me; held = 0; ct++ }                       /* decide restored */
done:
  unlock(me);
  goto out;
dead:
  if
  :: !restarted -> restarted = 1; resolve(me); goto again
  :: else -> skip
  fi;
out:
  skip
}

/* a writer: any bytes, at any time (into the file, a stub, a restore in progress): the whole
   file's size (WB) or half of it (P2: a short write into a stub, or a truncating one) */
active proctype writer() {
  byte was;
  atomic {
    was = fc;
    if :: fc = WB :: fc = P2 fi;     /* the whole size, or half (a short write, or over a stub) */
    fm = 1; ct++; truth = fc; i7 = i7 || relwin;
    /* I6's windows: a ctime check to the pwrite or truncate it guards; a write in place (the
       size kept) between a pwrite and the fstat after it */
    i6w = i6w || rstwin || (rstpw && SZ(fc) == SZ(was))
  }
}

/* one migrate attempt (protocol v2: take, view, upload, verify, decide); no flock */
active proctype migrator() {
  byte v; bit vm; byte nk = KA;
  atomic { if :: held == 0 -> held = MIG; ct++ :: else -> goto out fi }
  atomic {
    if
#ifndef MUT_MIGRATE_STUB
#ifdef VSTORE
    /* versioned: a stub, or one holding its object's first bytes (a restore or a release that
       stopped part way), is refused; other bytes (a stub written to) go up as a new version */
#ifdef MUT_MIGRATE_PREFIX
    :: st == RELD && fc == STUB -> held = 0; ct++; goto out
#else
    :: st == RELD && PREFIX_OF(fc, sc) -> held = 0; ct++; goto out
#endif
#else
    :: st == RELD -> held = 0; ct++; goto out             /* released or dirty stub: refused */
#endif
#endif
    :: st == MIGR && sk == KA && UNCHANGED -> held = 0; ct++; goto out            /* skipped */
    :: else -> v = fc; vm = fm
    fi
  }
#ifdef VSTORE
  nk = KV;
#endif
  obj[nk] = v;                                         /* PUT key A (a new version: VSTORE) */
  atomic {
    if
    :: fc == v && fm == vm -> st = MIGR; sk = nk; sc = v; sm = vm; sby = MIG   /* committed */
    :: else -> skip                                                            /* modified */
    fi;
    held = 0; ct++
  }
out:
  skip
}

/* the migrate of another file at path B: its own key */
active proctype other_b() {
  obj[KB] = BAD
}

#ifdef ADV
/* someone deletes or overwrites key A behind tiermv's back */
active proctype adversary() {
  atomic {
    if :: obj[KA] = GONE :: obj[KA] = BAD fi;
    advlate = headok
  }
}
#endif

active proctype monitor() {
end:
  atomic { !(NOLOSS && I5 && I1) -> assert(NOLOSS && I5 && I1) }
}

init {
  atomic {
    obj[KA] = C1; obj[KB] = BAD;
#ifdef KEYB
    if :: skip :: sk = KB; obj[KB] = C1; obj[KA] = BAD fi;
#endif
    run releaser(1); run restorer(2);
#ifdef TWO
    run releaser(3); run restorer(4);
#endif
  }
}
