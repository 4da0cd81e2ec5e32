// What every long-lived component (a stage, the gateway) looks like to the process that runs it:
// explicit readiness and an orderly stop (drain, then close with a grace period).
import type { ParleyConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { Bus } from './nats/bus.ts';
import type { Buckets } from './nats/topology.ts';

export type StageName = 'vad' | 'stt' | 'llm' | 'tts' | 'persist';

export interface Stage {
  readonly name: string;
  /** True once the stage consumes and its engine is loaded. */
  ready(): boolean;
  /** Stop taking work, finish or cancel what is in flight, release resources. */
  stop(): Promise<void>;
}

export interface StageDeps {
  readonly config: ParleyConfig;
  readonly bus: Bus;
  readonly buckets: Buckets;
  readonly log: Logger;
}
