import { createKernel } from 'fusepass/sim';

// A daemon registers a file and answers OPEN with FOPEN_PASSTHROUGH | FOPEN_KEEP_CACHE.
const k = createKernel({ profile: '6.18', world: { files: { data: { on: 'disk' } }, nodes: { file: {} } } });
k.daemon.devOpen('dev');
k.daemon.mount('dev', { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 });
k.daemon.open('data', 'rdonly', 'fd');
k.daemon.backingOpen({ dev: 'dev', fd: 'fd', as: 'b1' }); // { errno: null, value: 1, ... }
k.daemon.setOpenReply('file', { flags: ['PASSTHROUGH', 'KEEP_CACHE'], backing: 'b1' });
export const result = k.client.open('file', ['O_RDONLY'], 'f');
if (process.argv[1]?.endsWith('why-eio.ts')) console.log(JSON.stringify(result, null, 2));
