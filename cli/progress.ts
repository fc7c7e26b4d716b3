/** A one-line progress display for `run` on a terminal: files, bytes, rate and ETA. */
import type { FileOutcome } from "../jobs/file/outcome.ts";

export interface Progress {
  onOutcome(outcome: FileOutcome): void;
  stop(): void;
}

export function startProgress(
  totalFiles: number | null,
  out: NodeJS.WriteStream = process.stderr,
): Progress {
  const started = Date.now();
  let files = 0;
  let bytes = 0;
  const draw = () => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = files / seconds;
    const mib = bytes / 1048576;
    let eta = "";
    if (totalFiles !== null && rate > 0 && totalFiles > files)
      eta = `, ETA ${Math.ceil((totalFiles - files) / rate)}s`;
    const total = totalFiles !== null ? `/${totalFiles}` : "";
    out.write(
      `\r\x1b[K${files}${total} files, ${mib.toFixed(1)} MiB, ${rate.toFixed(1)} files/s, ${(mib / seconds).toFixed(1)} MiB/s${eta}`,
    );
  };
  const timer = setInterval(draw, 500);
  return {
    onOutcome(outcome) {
      files++;
      if (outcome.kind === "migrated") bytes += outcome.bytes;
    },
    stop() {
      clearInterval(timer);
      draw();
      out.write("\n");
    },
  };
}
