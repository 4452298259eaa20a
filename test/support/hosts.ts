// Several "hosts" on one machine, for multi-host tests. Each host is a Linux network namespace joined
// to the root namespace by a veth pair, with its own HOME, CLAUDE_CONFIG_DIR, XDG dirs, TMPDIR and
// data dir, so what Claude Code or a runner keeps on one host is absent on the others.
//
// Addresses: host N owns 10.231.N.0/24. 10.231.N.1 is the root namespace's end of its veth (the test's
// servers listen there: the fake model, runtime replicas); 10.231.N.2 is the namespace's end. The
// namespace's only routes are its /24 and 10.231.0.0/16 via its root end, so a process inside reaches
// every host end (they are local addresses of the root namespace: nothing is forwarded) and nothing
// else: no default route, no name server. Loopback inside a namespace is its own.
//
// Names: the root end is `aofh<N>`; creating it claims N atomically, also against another test process
// doing the same at the same time. The namespace is `aofh<N>-<pid of the test process>`: leftovers of a
// crashed run are the namespaces whose pid is gone (removeLeftoverHosts, called by every createHosts).
//
// Needs root and iproute2's `ip` (Debian: iproute2).
import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../../servers/common/storage/data-dir.js';
import { claudeTestEnv, inheritedEnv } from './claude-env.js';
import { collectOutput, type ProcessOutput } from './processes.js';
import { removeDir, tempDir } from './servers.js';

const PREFIX = 'aofh';
const SUBNET = '10.231';
/** Host numbers tried, in order (the third byte of the addresses). */
const FIRST = 1;
const LAST = 254;

export interface HostSpawnOptions {
  /** Extra variables on top of the host's environment (`host.env`). */
  env?: Record<string, string>;
  cwd?: string;
  stdio?: StdioOptions;
}

export class Host {
  private readonly children = new Set<ChildProcess>();

  constructor(
    /** Position among the hosts of one createHosts call, from 1. */
    readonly position: number,
    /** N: the host owns 10.231.N.0/24. */
    readonly number: number,
    readonly netns: string,
    /** Its root dir: home, claude-config, xdg/*, tmp, data, project below it. */
    readonly root: string,
  ) {}

  /** The root namespace's end: servers that this host (and every other) reaches listen here. */
  get hostEnd(): string {
    return `${SUBNET}.${this.number}.1`;
  }
  /** The namespace's own address: the remote address its connections arrive from. */
  get address(): string {
    return `${SUBNET}.${this.number}.2`;
  }
  /** The veth end in the root namespace. */
  get link(): string {
    return `${PREFIX}${this.number}`;
  }

  get home(): string {
    return join(this.root, 'home');
  }
  get configDir(): string {
    return join(this.root, 'claude-config');
  }
  get dataDir(): string {
    return join(this.root, 'data');
  }
  get projectDir(): string {
    return join(this.root, 'project');
  }
  get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  /**
   * This host's filesystem view: the parent's environment (cleaned as for every test child) with
   * HOME, CLAUDE_CONFIG_DIR, the XDG dirs, TMPDIR and AGENT_ORCHESTRATOR_DATA_DIR of this host.
   */
  get env(): Record<string, string> {
    return { ...inheritedEnv(), ...this.ownDirs() };
  }

  /** The environment of a Claude Code child on this host: offline, against the fake at `fakeUrl`. */
  claudeEnv(fakeUrl: string): Record<string, string> {
    return { ...inheritedEnv(), ...claudeTestEnv(fakeUrl, this.configDir), ...this.ownDirs() };
  }

  private ownDirs(): Record<string, string> {
    const xdg = join(this.root, 'xdg');
    return {
      HOME: this.home,
      CLAUDE_CONFIG_DIR: this.configDir,
      XDG_CONFIG_HOME: join(xdg, 'config'),
      XDG_CACHE_HOME: join(xdg, 'cache'),
      XDG_DATA_HOME: join(xdg, 'data'),
      XDG_STATE_HOME: join(xdg, 'state'),
      TMPDIR: this.tmpDir,
      AGENT_ORCHESTRATOR_DATA_DIR: this.dataDir,
    };
  }

  async makeDirs(): Promise<void> {
    const xdg = join(this.root, 'xdg');
    const dirs = [
      this.home,
      this.configDir,
      this.dataDir,
      this.projectDir,
      this.tmpDir,
      ...['config', 'cache', 'data', 'state'].map((d) => join(xdg, d)),
    ];
    await Promise.all(dirs.map((dir) => mkdir(dir, { recursive: true, mode: 0o700 })));
  }

  /**
   * Starts `command` inside this host's namespace (`ip netns exec` execs it: the child's pid is the
   * command's), in its own process group, with `env` = this host's env plus `options.env`.
   * Children still running at `close()` are killed.
   */
  spawn(command: string, args: string[], options: HostSpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.netns, command, ...args], {
      cwd: options.cwd ?? this.projectDir,
      env: { ...this.env, ...options.env },
      stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs `command` inside this host's namespace to its end; `input` goes to stdin. */
  run(
    command: string,
    args: string[],
    options: HostSpawnOptions & { input?: string; timeoutMs?: number } = {},
  ): Promise<ProcessOutput> {
    const child = this.spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    // A command that exits without reading its stdin (`ip route`) may close the pipe before this end is
    // written: that EPIPE is no failure of the command, whose exit code and output say how it went.
    child.stdin!.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
    if (options.input === undefined) child.stdin!.end();
    else child.stdin!.end(options.input);
    return collectOutput(child, `${command} ${args.join(' ')} in ${this.netns}`, options.timeoutMs ?? 45_000, () =>
      killGroup(child),
    );
  }

  /** Kills what it started, then every process left in its namespace, then removes the namespace. */
  close(): void {
    for (const child of this.children) killGroup(child);
    removeNamespace(this.netns);
  }
}

export interface Hosts {
  hosts: Host[];
  /** Every host end: the addresses the test's servers listen on to be reachable from the hosts. */
  hostEnds: string[];
  /** Removes every namespace and veth (and kills what runs there), and the hosts' dirs. Idempotent. */
  close(): Promise<void>;
}

const open = new Set<Host>();
let exitHookSet = false;

/** Held by the test process whose multi-host test file runs now (its pid inside). */
const LOCK = join(tmpdir(), 'aof-hosts.lock');

/**
 * In the describe block of a test file that creates hosts: holds the machine's hosts lock from before
 * its first test to after its last, so that no two such files run at once (parallel workers, or another
 * run on the machine). Host numbers are claimed safely at the same time, but every createHosts removes
 * the leftovers of dead test processes, which would race a test that checks that removal itself.
 * `teardown` is the file's own clean-up (closing its hosts, checking what is left): it runs before the
 * lock is released, so that the next file creates its hosts only once this one's are gone.
 */
export function oneHostsFileAtATime(teardown: () => Promise<void> | void = () => {}): void {
  before(async function () {
    this.timeout(15 * 60_000); // the other file's whole run
    for (;;) {
      try {
        writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number(readFileSync(LOCK, 'utf8').trim() || 'NaN');
      // A holder that died (or a file cut short as it was written) leaves a stale lock: take it over.
      if (!Number.isInteger(holder) || !isAlive(holder)) {
        releaseLock(holder);
        continue;
      }
      await sleep(200);
    }
  });
  after(async function () {
    this.timeout(60_000);
    try {
      await teardown();
    } finally {
      releaseLock(process.pid);
    }
  });
}

/** Removes the lock if `holder` still holds it. */
function releaseLock(holder: number): void {
  try {
    if (readFileSync(LOCK, 'utf8').trim() === String(holder)) unlinkSync(LOCK);
  } catch {
    // Already released.
  }
}

/**
 * Creates `count` hosts, each with its namespace, veth pair, addresses and dirs. Removes the leftovers
 * of crashed earlier runs first. Call `close()` in an `after` hook; should the process end without it,
 * an exit hook removes the namespaces (and the next run's removeLeftoverHosts does, after a SIGKILL).
 */
export async function createHosts(count: number): Promise<Hosts> {
  if (process.getuid?.() !== 0) throw new Error('multi-host tests need root (network namespaces); run them as root');
  removeLeftoverHosts();
  if (!exitHookSet) {
    exitHookSet = true;
    process.once('exit', () => {
      for (const host of open) host.close();
    });
  }
  const hosts: Host[] = [];
  const root = await tempDir('aof-hosts-');
  const close = async () => {
    for (const host of hosts) {
      host.close();
      open.delete(host);
    }
    await removeDir(root);
  };
  try {
    let number = FIRST;
    for (let position = 1; position <= count; position++) {
      const host = claimHost(position, number, join(root, `host-${position}`));
      hosts.push(host);
      open.add(host);
      number = host.number + 1;
      await host.makeDirs();
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { hosts, hostEnds: hosts.map((h) => h.hostEnd), close };
}

/** Creates the namespace and veth of the first free host number from `from` on. */
function claimHost(position: number, from: number, root: string): Host {
  for (let number = from; number <= LAST; number++) {
    const netns = `${PREFIX}${number}-${process.pid}`;
    const link = `${PREFIX}${number}`;
    ip('netns', 'add', netns);
    try {
      // The peer is born inside the namespace: a pair never exists half-moved.
      ip('link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
    } catch (error) {
      removeNamespace(netns);
      if (/exists/i.test(String(error))) continue; // another run holds this number
      throw error;
    }
    const host = new Host(position, number, netns, root);
    try {
      ip('addr', 'add', `${host.hostEnd}/24`, 'dev', link);
      ip('link', 'set', link, 'up');
      ip('-n', netns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      ip('-n', netns, 'link', 'set', 'eth0', 'up');
      ip('-n', netns, 'link', 'set', 'lo', 'up');
      ip('-n', netns, 'route', 'add', `${SUBNET}.0.0/16`, 'via', host.hostEnd);
    } catch (error) {
      removeNamespace(netns);
      throw error;
    }
    return host;
  }
  throw new Error(`no free host number in ${SUBNET}.${from}-${LAST}.0/24 (links ${PREFIX}N are all taken)`);
}

/** Namespaces and veth ends of this harness that exist now (all runs, live or not). */
export function listHostNetworking(): { namespaces: string[]; links: string[] } {
  const namespaces = ip('netns', 'list')
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => new RegExp(`^${PREFIX}\\d+-\\d+$`).test(name));
  const links = (JSON.parse(ip('-j', 'link', 'show', 'type', 'veth') || '[]') as Array<{ ifname: string }>)
    .map((l) => l.ifname)
    .filter((name) => new RegExp(`^${PREFIX}\\d+$`).test(name));
  return { namespaces, links };
}

/**
 * Removes what crashed earlier runs left: namespaces whose test process is gone (with the processes
 * still running in them), and veth ends whose namespace is gone. Returns the names removed.
 */
export function removeLeftoverHosts(): string[] {
  const before = listHostNetworking();
  const removed: string[] = [];
  for (const netns of before.namespaces) {
    const pid = Number(netns.slice(netns.lastIndexOf('-') + 1));
    if (pid === process.pid || isAlive(pid)) continue;
    removeNamespace(netns);
    removed.push(netns);
  }
  // A root end whose namespace is gone: its peer lives on in an unnamed namespace some process holds.
  const numbers = new Set(listHostNetworking().namespaces.map((n) => n.slice(PREFIX.length, n.lastIndexOf('-'))));
  for (const link of before.links) {
    if (numbers.has(link.slice(PREFIX.length))) continue;
    try {
      ip('link', 'delete', link);
      removed.push(link);
    } catch {
      // Removed with its namespace meanwhile.
    }
  }
  return removed;
}

/** Kills the processes left in a namespace, deletes its veth pair (at once), then the namespace. */
function removeNamespace(netns: string): void {
  // A namespace lives on (with its veth) while a process is in it: those are ours, so they go first.
  let pids: number[] = [];
  try {
    pids = ip('netns', 'pids', netns).split('\n').filter(Boolean).map(Number);
  } catch {
    return; // no such namespace
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  try {
    // Deleting the namespace would remove the pair later, from a kernel work queue; this is now.
    ip('-n', netns, 'link', 'delete', 'eth0');
  } catch {
    // No veth (yet) in it.
  }
  try {
    ip('netns', 'delete', netns);
  } catch {
    // Already deleted.
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is gone.
  }
}

/** Runs `ip` synchronously (setup and teardown also run from an exit hook); throws with its stderr. */
function ip(...args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error("multi-host tests need iproute2's `ip` (apt-get install -y iproute2)");
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}
