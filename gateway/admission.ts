// Admission control for new connections: a token bucket (PARLEY_ADMISSION_PER_SECOND, default 100/s
// per instance, against thundering herds) and a hard cap (PARLEY_MAX_CONNECTIONS) below the
// process's file-descriptor limit, because uWS spins at 100% CPU when accept() runs out of them.
export type AdmissionVerdict = 'ok' | 'rate_limited' | 'at_capacity' | 'draining';

export class Admission {
  private tokens: number;
  private last = performance.now();
  private draining = false;

  constructor(
    private readonly perSecond: number,
    private readonly maxConnections: number,
  ) {
    this.tokens = perSecond;
  }

  drain(): void {
    this.draining = true;
  }

  check(openConnections: number): AdmissionVerdict {
    if (this.draining) return 'draining';
    if (openConnections >= this.maxConnections) return 'at_capacity';
    const now = performance.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return 'rate_limited';
    this.tokens -= 1;
    return 'ok';
  }
}
