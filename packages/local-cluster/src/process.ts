import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import vm from 'node:vm';

/**
 * The process that really exits. Under jest each test file gets its own copy of `process`, whose
 * 'exit' listeners never run, and its own copy of this module; the main context's process is the
 * real one, shared by all test files of a worker.
 */
export const hostProcess: NodeJS.Process = vm.runInThisContext('process');

const RUNNING = Symbol.for('@backstage-dex/local-cluster/running');
type WithRunning = { [RUNNING]?: Set<ChildProcess> };

// Children must not outlive a test run that crashes or is interrupted. One set and one listener
// per real process, however many copies of this module load.
const running: Set<ChildProcess> = ((hostProcess as WithRunning)[RUNNING] ??=
  (() => {
    const children = new Set<ChildProcess>();
    hostProcess.once('exit', () => {
      for (const child of children) child.kill('SIGKILL');
    });
    return children;
  })());

// A jest worker that is killed (SIGKILL, OOM, timeout) runs no 'exit' handler: on Linux the
// children are started through util-linux `setpriv --pdeathsig KILL` (which then execs the
// binary, same pid), so the kernel kills them when this process dies.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find(
  p => process.platform === 'linux' && fs.existsSync(p),
);

const HANDED_OUT = Symbol.for('@backstage-dex/local-cluster/handed-out-ports');
type WithHandedOut = { [HANDED_OUT]?: Set<number> };

// Ports handed out by this process (by every test file of a jest worker), so two callers never
// get the same one.
const handedOut: Set<number> = ((hostProcess as WithHandedOut)[HANDED_OUT] ??=
  new Set<number>());

/** The lower bound of the kernel's range for outgoing connections' source ports. */
function ephemeralLow(): number {
  try {
    const low = Number(
      fs
        .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
        .trim()
        .split(/\s+/)[0],
    );
    if (Number.isInteger(low) && low > 11_000) return low;
  } catch {
    // not Linux: fall through
  }
  return 32_768;
}

function tryListen(port: number): Promise<number | undefined> {
  return new Promise(resolve => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A free TCP port on loopback, for a child process to listen on.
 *
 * Chosen below the ephemeral range: a port the kernel picks with listen(0) comes from the same
 * range as the source ports of outgoing connections, so between our check and the child's bind
 * any connect() on the machine can take it ("bind: address already in use" in CI).
 */
export async function freePort(): Promise<number> {
  const low = 10_000;
  const high = ephemeralLow();
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(candidate)) continue;
    if ((await tryListen(candidate)) === candidate) {
      handedOut.add(candidate);
      return candidate;
    }
  }
  const port = await tryListen(0);
  if (port === undefined)
    throw new Error('freePort: cannot listen on 127.0.0.1');
  handedOut.add(port);
  return port;
}

/** True when something accepts a TCP connection on `port` of 127.0.0.1 within a second. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** True when a process failed because a port it was given was taken meanwhile. */
export function isPortTaken(error: unknown): boolean {
  return /address already in use/i.test(
    String((error as Error)?.message ?? error),
  );
}

export interface ManagedProcess {
  name: string;
  logFile: string;
  /** The binary's pid (setpriv execs it, so the pid is the program's own), e.g. to SIGKILL it. */
  pid: number | undefined;
  /** The last lines the process wrote, for error messages. */
  tail(lines?: number): string;
  exited(): boolean;
  /** Resolves once it exited or failed to start. */
  whenEnded(): Promise<void>;
  /** How it ended, e.g. `exit code 1` or `signal SIGKILL`; undefined while running. */
  exitReason(): string | undefined;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it exited. */
  stop(): Promise<void>;
  /** SIGKILL at once, for a process whose state is thrown away; resolves once it exited. */
  kill(): Promise<void>;
}

/** Starts a binary with its output going to a log file in `workDir`. */
export function startProcess(options: {
  name: string;
  bin: string;
  args: string[];
  workDir: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Do not keep the Node process alive for this child (it is still killed when Node exits). */
  background?: boolean;
}): ManagedProcess {
  const logFile = path.join(options.workDir, `${options.name}.log`);
  const out = fs.openSync(logFile, 'a');
  const [cmd, args] = SETPRIV
    ? [SETPRIV, ['--pdeathsig', 'KILL', '--', options.bin, ...options.args]]
    : [options.bin, options.args];
  const child = spawn(cmd, args, {
    cwd: options.cwd ?? options.workDir,
    env: options.env ?? process.env,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  if (options.background) child.unref();
  running.add(child);
  let exitedFlag = false;
  let exitReason: string | undefined;
  let ended = () => {};
  // Resolves once it exited or failed to start.
  const endedPromise = new Promise<void>(resolve => (ended = resolve));
  const exitPromise = new Promise<void>(resolve =>
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      exitReason = signal ? `signal ${signal}` : `exit code ${code}`;
      running.delete(child);
      ended();
      resolve();
    }),
  );
  // A binary that cannot be started (ENOENT, EACCES) emits 'error' and maybe no 'exit'.
  child.once('error', err => {
    if (exitedFlag) return;
    exitedFlag = true;
    exitReason = `failed to start: ${err.message}`;
    running.delete(child);
    fs.appendFileSync(
      logFile,
      `\n[local-cluster] ${options.bin} failed to start: ${err.message}\n`,
    );
    ended();
  });
  return {
    name: options.name,
    logFile,
    pid: child.pid,
    tail(lines = 30) {
      try {
        return fs
          .readFileSync(logFile, 'utf8')
          .trim()
          .split('\n')
          .slice(-lines)
          .join('\n');
      } catch {
        return '';
      }
    },
    exited: () => exitedFlag,
    whenEnded: () => endedPromise,
    exitReason: () => exitReason,
    async stop() {
      if (exitedFlag) return;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    },
    async kill() {
      if (exitedFlag) return;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exitPromise;
    },
  };
}

/** Polls `check` until it resolves true; fails with the process's last log lines. */
export async function waitFor(
  proc: ManagedProcess,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  const ended = proc.whenEnded().then(() => undefined);
  while (Date.now() < deadline) {
    if (proc.exited()) {
      throw new Error(
        `${proc.name} exited (${proc.exitReason?.() ?? 'unknown'}) before ${what}. Last log lines (${proc.logFile}):\n${proc.tail()}`,
      );
    }
    // A check still waiting when the process ends (e.g. on a port someone else holds and never
    // answers) is not waited for: the process's end is the answer.
    const answered = check().then(
      ok => ({ ok, error: undefined as unknown }),
      (error: unknown) => ({ ok: false, error }),
    );
    const answer = await Promise.race([answered, ended]);
    if (answer && answer.ok) return;
    if (answer) lastError = answer.error ?? lastError;
    if (proc.exited()) continue;
    await new Promise(r => setTimeout(r, 200));
  }
  throw new Error(
    `${proc.name} did not become ${what} within ${timeoutMs} ms (${lastError ?? 'no answer'}). Last log lines (${proc.logFile}):\n${proc.tail()}`,
  );
}
