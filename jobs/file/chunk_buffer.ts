/**
 * Restore's one chunk buffer per file (restore_copy.ts). The chunk just read holds it until its
 * pwrite is done (`hold`, `free`); the read ahead of the next chunk sends its GET at once but is
 * given the buffer only once free (`whenFree`): until then its body waits in the connection
 * (TCP's flow control holds the store's sending), so the read ahead overlaps the request's round
 * trip and the store's first bytes with the write without a second buffer (measured: a second
 * 8 MiB buffer per file was a quarter of a 4 x 256 MiB restore's peak RSS).
 */
export class ChunkBuffer {
  private busy: Promise<void> = Promise.resolve();
  private done: () => void = () => {};

  /**
   * `bytes`: shared memory, so a pwrite hands it to a mount thread without a copy; `ended`: the
   * copy is over, so a read still waiting for the buffer gives up (its GET is aborted too).
   */
  constructor(
    readonly bytes: Uint8Array,
    private readonly ended: AbortSignal,
  ) {}

  /** The buffer holds a chunk not yet written: a read ahead waits for `free`. */
  hold(): void {
    this.busy = new Promise((resolve) => {
      this.done = resolve;
    });
  }

  /** The chunk is written: a read waiting for the buffer may fill it. */
  free(): void {
    this.done();
  }

  /** The buffer, once free; rejects when the copy ends first. */
  whenFree = (): Promise<Uint8Array> => {
    const { ended, busy } = this;
    return new Promise((resolve, reject) => {
      if (ended.aborted) return reject(ended.reason);
      const onEnd = () => reject(ended.reason);
      ended.addEventListener("abort", onEnd, { once: true });
      void busy.then(() => {
        ended.removeEventListener("abort", onEnd);
        resolve(this.bytes);
      });
    });
  };
}
