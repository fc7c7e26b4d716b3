/**
 * Debian's Ceph packages, installed with apt-get when a binary is missing (we run as root, as CI
 * does). Nothing is downloaded by hand: apt keeps its own cache under /var/cache/apt.
 */
import { CephStartError, run } from "./proc.ts";

export const CEPH_PACKAGES = [
  "ceph-mon",
  "ceph-mgr",
  "ceph-osd",
  "ceph-mds",
  "ceph-fuse",
  "radosgw",
  "ceph-common",
  "attr",
  "fuse3",
];

/** One binary per package: when all are on PATH, nothing is installed. */
const BINARIES = [
  "ceph-mon",
  "ceph-mgr",
  "ceph-osd",
  "ceph-mds",
  "ceph-fuse",
  "radosgw",
  "ceph",
  "setfattr",
  "fusermount3",
];

/** Installs the packages when any binary is missing; returns the milliseconds it took (0: none). */
export async function ensureCephPackages(): Promise<number> {
  const missing = BINARIES.filter((name) => !Bun.which(name, { PATH: systemPath() }));
  if (missing.length === 0) return 0;
  const began = Date.now();
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive", PATH: systemPath() };
  await run(["apt-get", "update", "-qq"], { env, timeoutMs: 300_000 });
  await run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...CEPH_PACKAGES], {
    env,
    timeoutMs: 900_000,
  });
  const still = BINARIES.filter((name) => !Bun.which(name, { PATH: systemPath() }));
  if (still.length > 0)
    throw new CephStartError(
      `apt-get installed the Ceph packages but ${still.join(", ")} is missing`,
    );
  return Date.now() - began;
}

/** PATH with the sbin directories, where Debian puts some of the daemons. */
export function systemPath(): string {
  const parts = (process.env.PATH ?? "").split(":").filter(Boolean);
  for (const dir of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    if (!parts.includes(dir)) parts.push(dir);
  return parts.join(":");
}
