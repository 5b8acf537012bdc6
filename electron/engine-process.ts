// The engine in Electron: a utilityProcess (a Node process Electron manages, with the same
// structured-clone messaging as a forked child) behind the EngineProcess adapter the service uses. Its requests
// for hidden-window devices are main's to answer (device-window.ts): the service never sees them.
import { utilityProcess } from 'electron';
import { isDeviceMessage } from '../src/device/window-messages.ts';
import { EngineLife, lowerPriority, type EngineProcess } from '../src/service/engine-process.ts';
import type { DeviceWindows } from './device-window.ts';

export function utilityEngine(entry: string, devices?: DeviceWindows): EngineProcess {
  const child = utilityProcess.fork(entry, [], { stdio: ['ignore', 'inherit', 'pipe'], serviceName: 'MobileViT Studio engine' });
  child.once('spawn', () => lowerPriority(child.pid));
  const life = new EngineLife(child.stderr);
  // V8 fatal errors (out of memory) arrive here before 'exit'; keep them for the reason.
  child.on('error', (type, location) => life.tail.push(`\n${type} at ${location}`));
  const windows = devices?.serve({
    postMessage(m, ports) {
      if (!life.exited) child.postMessage(m, ports);
    },
  });
  if (windows) child.on('message', (m) => windows.receive(m));
  child.on('exit', (code) => {
    life.ended(code, null);
    windows?.close(); // its devices die with it
  });
  return {
    get pid() {
      return child.pid;
    },
    send(msg) {
      if (!life.exited) child.postMessage(msg);
    },
    onMessage(cb) {
      child.on('message', (m) => {
        if (!isDeviceMessage(m)) cb(m);
      });
    },
    onExit(cb) {
      life.onExit(cb);
    },
    kill() {
      if (!life.exited) child.kill();
    },
  };
}
