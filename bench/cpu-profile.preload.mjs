// Loaded with `node --import` (NODE_OPTIONS refuses --cpu-prof): profiles the process from start to exit and
// writes a .cpuprofile into FORGEONE_CPU_PROF_DIR, for the benches' --cpu-prof option.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.FORGEONE_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  // A session in the same thread answers synchronously, so the profile is written before the process ends.
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(join(dir, `projector-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
