/**
 * A status line pinned to the bottom row of the terminal while the job prints above it. The job shares
 * the terminal, so instead of redrawing over its output we shrink the scrolling region by one row (as
 * apt does): the job's lines scroll in the region, ours stays put, and nothing gets garbled.
 */
export class LiveStatus {
  private active = false;
  private rows = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  start(): void {
    this.rows = this.stream.rows ?? 0;
    if (this.rows < 3) return;
    this.active = true;
    // Make room at the bottom, then fence the last row off from scrolling.
    this.stream.write(`\n\x1b7\x1b[1;${this.rows - 1}r\x1b8\x1b[1A`);
    this.stream.on('resize', this.onResize);
  }

  update(text: string): void {
    if (!this.active) return;
    const columns = this.stream.columns ?? 80;
    const line = text.length > columns - 1 ? `${text.slice(0, columns - 2)}…` : text;
    this.stream.write(`\x1b7\x1b[${this.rows};1H\x1b[2K\x1b[7m${line}\x1b[0m\x1b8`);
  }

  stop(): void {
    if (!this.active) return;
    this.active = false;
    this.stream.off('resize', this.onResize);
    this.stream.write(`\x1b7\x1b[${this.rows};1H\x1b[2K\x1b[r\x1b8`);
  }

  private readonly onResize = (): void => {
    this.rows = this.stream.rows ?? this.rows;
    this.stream.write(`\x1b7\x1b[1;${this.rows - 1}r\x1b8`);
  };
}
