// Starts the Cloud Storage emulator inside firebase-tools as a plain Node server, with
// its rules runtime replaced by stubs (it wants Java and a download; the GCS JSON API
// routes never consult rules). See ../shared/notes/gcs-emulator.md.
//   node test/gcs-emulator.cjs <firebase-tools dir> <port>      (prints "ready" when listening)
const path = require('node:path');
const [fbt, port] = process.argv.slice(2);
const storageDir = path.join(fbt, 'lib', 'emulator', 'storage');
const runtime = require(path.join(storageDir, 'rules', 'runtime.js'));
runtime.StorageRulesRuntime.prototype.start = async () => {};
runtime.StorageRulesRuntime.prototype.stop = async () => {};
const manager = require(path.join(storageDir, 'rules', 'manager.js'));
manager.createStorageRulesManager = () => ({ start: async () => {}, stop: async () => {}, getRuleset: () => undefined });
const { StorageEmulator } = require(path.join(storageDir, 'index.js'));
const emulator = new StorageEmulator({ projectId: 'demo-bucketlite', host: '127.0.0.1', port: Number(port), auto_download: false });
// Registered, as the firebase CLI would, so its URL helpers know the host and port.
const { EmulatorRegistry } = require(path.join(fbt, 'lib', 'emulator', 'registry.js'));
EmulatorRegistry.start(emulator).then(() => process.stdout.write('ready\n'), (err) => { console.error(err); process.exit(1); });
process.on('SIGTERM', () => emulator.stop().finally(() => process.exit(0)));
