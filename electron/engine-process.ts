// The engine in Electron: a utilityProcess (a Node process Electron manages, with the same
// structured-clone messaging as a forked child) behind the EngineProcess adapter the service uses. Its requests
// for hidden-window devices are main's to answer (device-window.ts): the service never sees them.
import { utilityProcess } from 'electron';
import { isDeviceMessage } from '../src/device/window-messages.ts';
import { TailBuffer, lowerPriority, type EngineExit, type EngineProcess } from '../src/service/engine-process.ts';
import type { DeviceWindows } from './device-window.ts';

export function utilityEngine(entry: string, devices?: DeviceWindows): EngineProcess {
  const child = utilityProcess.fork(entry, [], { stdio: ['ignore', 'inherit', 'pipe'], serviceName: 'MobileViT Studio engine' });
  child.once('spawn', () => lowerPriority(child.pid));
  const tail = new TailBuffer();
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail.push(chunk);
    process.stderr.write(chunk);
  });
  const exitCbs: ((e: EngineExit) => void)[] = [];
  let exited = false;
  // V8 fatal errors (out of memory) arrive here before 'exit'; keep them for the reason.
  child.on('error', (type, location) => tail.push(`\n${type} at ${location}`));
  const windows = devices?.serve({
    postMessage(m, ports) {
      if (!exited) child.postMessage(m, ports);
    },
  });
  if (windows) child.on('message', (m) => windows.receive(m));
  child.on('exit', (code) => {
    exited = true;
    windows?.close(); // its devices die with it
    for (const cb of exitCbs) cb({ code, signal: null, stderrTail: tail.lastLines() });
  });
  return {
    get pid() {
      return child.pid;
    },
    send(msg) {
      if (!exited) child.postMessage(msg);
    },
    onMessage(cb) {
      child.on('message', (m) => {
        if (!isDeviceMessage(m)) cb(m);
      });
    },
    onExit(cb) {
      exitCbs.push(cb);
    },
    kill() {
      if (!exited) child.kill();
    },
  };
}
