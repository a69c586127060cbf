// Progress on stderr for long CLI work: nothing for the first second, then the current step with the
// elapsed time, rewritten in place on a terminal and printed every few seconds otherwise. Never on stdout.

export class Progress {
  private readonly started = Date.now();
  private last = '';
  private lastPrinted = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;
  private shown = false;

  constructor(private readonly enabled: boolean, private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
    if (enabled) {
      this.timer = setInterval(() => this.render(), 250);
      this.timer.unref();
    }
  }

  update(message: string): void {
    this.last = message;
    this.render();
  }

  private render(): void {
    if (!this.enabled || !this.last) return;
    const elapsed = Date.now() - this.started;
    if (elapsed < 1000) return;
    const text = `… ${this.last} (${(elapsed / 1000).toFixed(1)} s)`;
    if (this.tty) {
      this.stream.write(`\r\x1b[K${text}`);
      this.shown = true;
    } else if (Date.now() - this.lastPrinted >= 3000) {
      this.stream.write(`${text}\n`);
      this.lastPrinted = Date.now();
    }
  }

  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.shown) this.stream.write('\r\x1b[K');
  }
}
