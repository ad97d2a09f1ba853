// When a session restarts ICE and when it gives up (RestartPolicy in lib/ice-restart.js): a
// table of connection histories driven on node's mock clock, no browser. The restart itself is
// exercised with real browsers in call-ice-restart.test.js.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { RestartPolicy } from '../lib/ice-restart.js';

/**
 * Runs `steps` ([ms to advance, method, ...args]) on a policy of `role` (restart after 1000
 * ms, give up after 5000) and returns what it did: ['restart@T', 'giveUp@T'].
 */
function run(role, steps) {
  mock.timers.enable({ apis: ['setTimeout'], now: 0 });
  try {
    const done = [];
    let now = 0;
    const policy = new RestartPolicy({ role, restartAfterMs: () => 1000,
      connectTimeoutMs: () => 5000, restart: () => done.push(`restart@${now}`),
      giveUp: () => done.push(`giveUp@${now}`) });
    for (const [ms, method, ...args] of steps) {
      for (let i = 0; i < ms; i += 100) {
        now += 100;
        mock.timers.tick(100);
      }
      if (method) policy[method](...args);
    }
    policy.stop();
    return done;
  } finally {
    mock.timers.reset();
  }
}

const rows = [
  ['initiator: ICE failed after connecting restarts at once', 'initiator',
    [[0, 'connected'], [100, 'trouble', true], [0, 'done', true], [6000]], ['restart@100']],
  ['initiator: disconnected restarts after restartAfterMs', 'initiator',
    [[0, 'connected'], [0, 'trouble', false], [2000, 'done', true]], ['restart@1000']],
  ['responder: failed waits twice as long', 'responder',
    [[0, 'connected'], [0, 'trouble', true], [3000, 'done', true]], ['restart@2000']],
  ['disconnected, then connected again: no restart', 'initiator',
    [[0, 'connected'], [0, 'trouble', false], [500, 'recovered'], [3000]], []],
  ['never connected: no restart (the session ends on failure instead)', 'initiator',
    [[0, 'trouble', true], [0, 'trouble', false], [3000]], []],
  ['a restart that does not connect gives up after connectTimeoutMs', 'initiator',
    [[0, 'connected'], [0, 'trouble', true], [0, 'done', false], [6000]],
    ['restart@0', 'giveUp@5000']],
  ["the peer's restart started: no second restart of ours meanwhile", 'responder',
    [[0, 'connected'], [0, 'started'], [0, 'trouble', false], [3000, 'done', true], [3000]], []],
  ['stop() ends every wait', 'initiator',
    [[0, 'connected'], [0, 'trouble', false], [0, 'stop'], [3000]], []],
];

for (const [name, role, steps, expected] of rows) {
  test(`RestartPolicy: ${name}`, () => assert.deepEqual(run(role, steps), expected));
}
