// Relay worker entry in plain JS: Node 20 does not carry tsx's loader into worker threads, so
// register it here, then load the TypeScript worker (as real-kernel/daemon/worker-boot.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./relay-worker.ts');
