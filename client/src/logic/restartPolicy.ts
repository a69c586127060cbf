// Bounded server restarts: the language server may crash and be restarted at most `maxRestarts` times
// within a sliding window of `windowMs`; one more crash and it stays down until the user restarts it. Pure.

export interface RestartDecision {
  restart: boolean;
  /** Crashes counted in the current window, this one included. */
  crashes: number;
}

export class RestartPolicy {
  private crashes: number[] = [];

  constructor(
    private readonly maxRestarts: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a crash and says whether to restart. */
  onCrash(): RestartDecision {
    const t = this.now();
    this.crashes = this.crashes.filter((c) => t - c < this.windowMs);
    this.crashes.push(t);
    return { restart: this.crashes.length <= this.maxRestarts, crashes: this.crashes.length };
  }

  /** The user restarted the server by hand: start counting afresh. */
  reset(): void {
    this.crashes = [];
  }
}

/** The message shown when the policy gives up. */
export function gaveUpMessage(crashes: number, windowMs: number): string {
  const minutes = Math.round(windowMs / 60_000);
  return `The Pygration language server crashed ${crashes} times in ${minutes} minute${minutes === 1 ? '' : 's'} and was not restarted. Code lenses and live analysis are off until you restart it; the output has the details.`;
}
