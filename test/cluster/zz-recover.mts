import { readFileSync } from 'node:fs';
import { createRuntime } from '../../src/actors/index.js';
import { silentLogger } from '../../src/logger.js';
import { slowIntents, slowResponder } from '../actors/fixtures/slow-work.js';
import { openStores } from './fixtures/store-spec.js';
const cfg = JSON.parse(readFileSync('/tmp/cl/crashcfg.json', 'utf8'));
const step = process.argv[2];
const lines = readFileSync('/tmp/cl/crashw.out', 'utf8').trim().split('\n');
const accepted = lines.filter((l) => l.startsWith('accepted')).map((l) => l.split(' '));
const execs = lines.filter((l) => l.startsWith('spawned ')).map((l) => l.split(' ')[2]!);
const audit = await openStores(cfg.store);
let t0 = Date.now();
if (step === 'events' || step === 'all') {
  await Promise.all(accepted.map((a) => audit.actors.event(cfg.tenantId, a[1]!, Number(a[2]))));
  console.log('events', accepted.length, Date.now() - t0); t0 = Date.now();
}
if (step === 'counts' || step === 'all') {
  await Promise.all(execs.map((id) => audit.artifacts.countByActor(cfg.tenantId, id)));
  console.log('counts', execs.length, Date.now() - t0); t0 = Date.now();
}
if (step === 'recover' || step === 'all') {
  const stores = await openStores(cfg.store);
  const rt = createRuntime({ stores, intents: slowIntents(), respond: slowResponder, logger: silentLogger(), leaseMs: 1000, pollMs: 50 });
  await rt.start();
  console.log('started', Date.now() - t0); t0 = Date.now();
  const views = await Promise.all(execs.map((id) => rt.waitFor(id, { tenantId: cfg.tenantId, until: 'done', timeoutMs: 30000 })));
  console.log('recovered', views.filter((v) => v.status === 'done').length, Date.now() - t0);
  await rt.close(); await stores.close();
}
await audit.close();
