import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PodLogNames } from '../../src/kernel/pod-logs.js';

const UID_A = '1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9';
const UID_B = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const ID_WEB = 'a'.repeat(64);
const ID_SIDECAR = 'b'.repeat(64);

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-pod-logs-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function pod(namespace: string, name: string, uid: string, containers: string[]): void {
  for (const container of containers) {
    fs.mkdirSync(path.join(root, 'var/log/pods', `${namespace}_${name}_${uid}`, container), {
      recursive: true,
    });
  }
}

function containerLog(name: string, namespace: string, container: string, id: string): void {
  fs.mkdirSync(path.join(root, 'var/log/containers'), { recursive: true });
  fs.writeFileSync(path.join(root, 'var/log/containers', `${name}_${namespace}_${container}-${id}.log`), '');
}

describe('PodLogNames', () => {
  it('names a pod and, through /var/log/containers, each of its containers', () => {
    pod('etl', 'airflow-worker-7d9f-x2k4q', UID_A, ['worker', 'log-shipper']);
    containerLog('airflow-worker-7d9f-x2k4q', 'etl', 'worker', ID_WEB);
    containerLog('airflow-worker-7d9f-x2k4q', 'etl', 'log-shipper', ID_SIDECAR);
    const names = new PodLogNames({ root });
    expect(names.lookup(UID_A, ID_WEB)).toEqual({
      namespace: 'etl',
      pod: 'airflow-worker-7d9f-x2k4q',
      container: 'worker',
    });
    expect(names.lookup(UID_A, ID_SIDECAR)?.container).toBe('log-shipper');
    expect(names.lookup(UID_A)).toEqual({
      namespace: 'etl',
      pod: 'airflow-worker-7d9f-x2k4q',
      container: null,
    });
  });

  it("takes a one-container pod's only container without /var/log/containers, and no guess among several", () => {
    pod('default', 'job-1', UID_A, ['main']);
    pod('default', 'job-2', UID_B, ['main', 'sidecar']);
    const names = new PodLogNames({ root });
    expect(names.lookup(UID_A, ID_WEB)?.container).toBe('main');
    expect(names.lookup(UID_B, ID_WEB)).toEqual({ namespace: 'default', pod: 'job-2', container: null });
  });

  it('finds a pod that appeared later, but lists the directories again at most every few seconds', () => {
    let now = 0;
    const names = new PodLogNames({ root }, () => now);
    expect(names.lookup(UID_A)).toBeUndefined();
    pod('default', 'late', UID_A, ['main']);
    now = 1000;
    expect(names.lookup(UID_A)).toBeUndefined();
    now = 6000;
    expect(names.lookup(UID_A)?.pod).toBe('late');
  });

  it('ignores entries that are not the kubelet’s, and a host without the directories', () => {
    fs.mkdirSync(path.join(root, 'var/log/pods/not_a_pod'), { recursive: true });
    fs.mkdirSync(path.join(root, 'var/log/pods', `Bad_Name_${UID_A}`), { recursive: true });
    expect(new PodLogNames({ root }).lookup(UID_A)).toBeUndefined();
    expect(new PodLogNames({ root: path.join(root, 'nowhere') }).lookup(UID_A)).toBeUndefined();
  });
});
