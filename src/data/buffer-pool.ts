// Reusable batch buffers. Filling a freshly allocated buffer is dominated by the kernel mapping its pages on
// first touch (about 100 ms for a 12 MB batch on this sandbox, several ms on bare metal), paid on the JS thread
// that also runs the model; a buffer handed back is refilled at memory speed.

export class BufferPool {
  private free: Float32Array[] = [];
  private capacity = 0;

  /** A buffer of exactly `length` floats (a view from offset 0 of a possibly larger one) and the function that
   *  hands it back. After `release` the caller must not touch the view again. */
  take(length: number): { data: Float32Array; release: () => void } {
    if (length > this.capacity) {
      // Batches of one sampler config hold about the same number of pixels, so this settles after a few batches.
      this.capacity = length;
      this.free = [];
    }
    const buf = this.free.pop() ?? new Float32Array(this.capacity);
    let released = false;
    return {
      data: buf.length === length ? buf : new Float32Array(buf.buffer, 0, length),
      release: () => {
        if (released) return;
        released = true;
        if (buf.length === this.capacity) this.free.push(buf);
      },
    };
  }
}
