// A training run's folder and everything in it: the one owner of runs/<id>/. Training, the engine, the
// service, inspection and the CLI read and write a run only through these.
//
//   const { id, dir } = createRun(settings, { workspace, name });   // run.json, status 'running'
//   const lock = await acquireRunLock(dir, 'training');              // one trainer per run (lock.ts)
//   updateRun(dir, { … }); readRun(dir); await runSummary(dir);      // the record (record.ts)
//   new EventSink(path, listener, count); readEvents(path);          // metrics.jsonl (events.ts)
//   new CheckpointStore(join(dir, FILES.checkpoints));               // crash-safe checkpoints
//   loadModel({ run: dir });                                         // a run's (or a file's) model:
//                                                                    //   model.ts, imported on its own,
//                                                                    //   the only part that needs tfjs
export {
  FILES, createRun, defaultWorkspace, newRunId, parseSettings, readRun, recordFailure, runSummary, updateRun, type RunRecord,
} from './record.ts';
export { EventSink, appendEvent, readEvents, rewindEvents, type NewEvent } from './events.ts';
export { CheckpointError, CheckpointStore, type CheckpointKind, type CheckpointManifest, type FileWriter, type LoadedCheckpoint } from './checkpoint.ts';
export { RunLockedError, acquireRunLock, probeRunLock, withRunLock, type RunLock } from './lock.ts';
export { writeEvaluation, writeLabels } from './artifacts.ts';
