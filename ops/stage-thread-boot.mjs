// Worker threads do not inherit the parent's tsx loader (Node 20): register it, then load the
// TypeScript entry of the stage thread.
import { register } from 'tsx/esm/api';

register();
await import('./stage-thread.ts');
