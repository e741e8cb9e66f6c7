// deploy/k8s as Kubernetes and smimegate would take it (run by
// manifests_test.sh, which installs the npm packages).
//
// For every overlay under deploy/k8s (a directory with a kustomization.yaml
// that is not base/):
//  1. `kubectl kustomize` renders it;
//  2. every object validates against its schema: kubernetes-models for the
//     built-in kinds, @kubernetes-models/keda and
//     @kubernetes-models/prometheus-operator for ScaledObject, PrometheusRule,
//     ServiceMonitor, PodMonitor; an unknown kind fails;
//  3. the references between objects hold: ConfigMaps, Secrets and keys that
//     pods use exist; probes and Service target ports name declared ports;
//     every Service selects a pod; a StatefulSet's serviceName is a headless
//     Service; each container has requests, limits, startup, liveness
//     (/healthz) and readiness (/readyz) probes and the securityContext
//     rules (non-root, read-only root, no privilege escalation, all
//     capabilities dropped, NET_BIND_SERVICE only for a port below 1024);
//  4. each smimegate container's configuration (the ConfigMap key its
//     --config names) passes `smimegate check-config --stage <its stage>`,
//     with its mounts in a temp dir (a test certificate in every Secret file
//     the configuration names) and its environment (a random KEK for each
//     secretKeyRef): the manifests and the binary cannot drift apart.
//
// Usage: node manifests_test.mjs <repo> <smimegate> <work dir>
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as yaml from 'js-yaml';

const [repo, smimegate, work] = process.argv.slice(2);
const failures = [];
const fail = (where, what) => failures.push(`${where}: ${what}`);

const MODEL_PACKAGES = ['kubernetes-models', '@kubernetes-models/keda',
                        '@kubernetes-models/prometheus-operator'];

async function modelOf(apiVersion, kind) {
  for (const pkg of MODEL_PACKAGES) {
    try {
      const m = await import(`${pkg}/${apiVersion}/${kind}`);
      return m.default ?? m[kind];
    } catch (e) {
      if (e.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED' && e.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    }
  }
  return null;
}

function overlays() {
  const root = path.join(repo, 'deploy/k8s');
  return fs.readdirSync(root)
    .filter((d) => d !== 'base' && fs.existsSync(path.join(root, d, 'kustomization.yaml')))
    .map((d) => path.join(root, d));
}

function render(dir) {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return yaml.loadAll(out).filter(Boolean);
}

const podSpecOf = (o) => (['Deployment', 'StatefulSet'].includes(o.kind) ? o.spec.template.spec : null);
const matches = (selector, labels) =>
  Object.entries(selector ?? {}).every(([k, v]) => (labels ?? {})[k] === v);

function checkContainer(where, c, spec) {
  const names = new Set((c.ports ?? []).map((p) => p.name));
  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    const p = c[probe];
    if (!p) { fail(where, `no ${probe}`); continue; }
    const port = p.httpGet?.port;
    if (typeof port === 'string' && !names.has(port)) fail(where, `${probe} names port ${port}, not declared`);
  }
  if (c.livenessProbe?.httpGet?.path !== '/healthz') fail(where, 'liveness probe is not /healthz');
  if (c.readinessProbe?.httpGet?.path !== '/readyz') fail(where, 'readiness probe is not /readyz');
  for (const k of ['requests', 'limits']) {
    if (!c.resources?.[k]?.cpu || !c.resources?.[k]?.memory) fail(where, `no resources.${k} for cpu and memory`);
  }
  const sc = c.securityContext ?? {};
  if (sc.readOnlyRootFilesystem !== true) fail(where, 'root filesystem not read-only');
  if (sc.allowPrivilegeEscalation !== false) fail(where, 'privilege escalation not off');
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) fail(where, 'capabilities not all dropped');
  const added = sc.capabilities?.add ?? [];
  const low = (c.ports ?? []).some((p) => p.containerPort < 1024);
  for (const cap of added) {
    if (cap !== 'NET_BIND_SERVICE' || !low) fail(where, `adds capability ${cap}`);
  }
  if ((spec.securityContext?.runAsNonRoot ?? sc.runAsNonRoot) !== true) fail(where, 'may run as root');
}

function checkReferences(docs, name) {
  const byKind = (k) => docs.filter((o) => o.kind === k);
  const secrets = new Set(byKind('Secret').map((o) => o.metadata.name));
  const configMaps = new Map(byKind('ConfigMap').map((o) => [o.metadata.name, o]));
  const pods = docs.filter(podSpecOf);
  for (const w of pods) {
    const spec = podSpecOf(w);
    const where = `${name} ${w.kind}/${w.metadata.name}`;
    if (!matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels)) fail(where, 'selector does not match its pods');
    for (const v of spec.volumes ?? []) {
      if (v.configMap && !configMaps.has(v.configMap.name)) fail(where, `ConfigMap ${v.configMap.name} is not in the overlay`);
      if (v.secret && !secrets.has(v.secret.secretName)) fail(where, `Secret ${v.secret.secretName} is not in the overlay`);
    }
    for (const c of spec.containers) {
      checkContainer(`${where} container ${c.name}`, c, spec);
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !secrets.has(ref.name)) fail(where, `env ${e.name}: Secret ${ref.name} is not in the overlay`);
      }
      for (const m of c.volumeMounts ?? []) {
        if (!(spec.volumes ?? []).some((v) => v.name === m.name) &&
            !(w.spec.volumeClaimTemplates ?? []).some((t) => t.metadata.name === m.name)) {
          fail(where, `mount ${m.name} has no volume`);
        }
      }
    }
    if (w.kind === 'StatefulSet') {
      const svc = byKind('Service').find((s) => s.metadata.name === w.spec.serviceName);
      if (!svc || svc.spec.clusterIP !== 'None') fail(where, `serviceName ${w.spec.serviceName} is not a headless Service`);
    }
  }
  for (const s of byKind('Service')) {
    const where = `${name} Service/${s.metadata.name}`;
    const selected = pods.filter((w) => matches(s.spec.selector, w.spec.template.metadata.labels));
    if (selected.length === 0) { fail(where, 'selects no pod'); continue; }
    for (const p of s.spec.ports) {
      if (typeof p.targetPort !== 'string') continue;
      const declared = selected.some((w) => podSpecOf(w).containers.some(
        (c) => (c.ports ?? []).some((cp) => cp.name === p.targetPort)));
      if (!declared) fail(where, `targetPort ${p.targetPort} is not a port of the selected pods`);
    }
  }
}

// A self-signed certificate and key for every Secret file a configuration
// names, one per stage: egress.admin and portal.admin need the role and name
// check-config requires of that stage's identity (spiffe://<trust domain>/<stage>,
// DNS:smimegate-<stage>).
function testCertificate(dir, stage) {
  const key = path.join(dir, `test-${stage}.key`);
  const crt = path.join(dir, `test-${stage}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '30', '-subj', '/CN=manifests-test',
    '-addext', `subjectAltName=DNS:smimegate-${stage},URI:spiffe://smimegate/${stage}`,
    '-keyout', key, '-out', crt], { stdio: 'ignore' });
  return { key: fs.readFileSync(key), crt: fs.readFileSync(crt) };
}
const certs = new Map();
function certFor(stage) {
  if (!certs.has(stage)) certs.set(stage, testCertificate(work, stage));
  return certs.get(stage);
}

function checkConfigs(docs, name) {
  const configMaps = new Map(docs.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o]));
  let checked = 0;
  for (const w of docs.filter(podSpecOf)) {
    const spec = podSpecOf(w);
    for (const c of spec.containers) {
      const where = `${name} ${w.kind}/${w.metadata.name}`;
      const args = c.args ?? [];
      const at = args.indexOf('--config');
      if (at < 0) { fail(where, 'no --config argument'); continue; }
      const configPath = args[at + 1];
      const stage = args[0] === 'run' ? 'all' : args[0];
      const cert = certFor(stage);
      const mounts = [...(c.volumeMounts ?? [])].sort((a, b) => b.mountPath.length - a.mountPath.length);
      const configMount = mounts.find((m) => configPath.startsWith(m.mountPath + '/'));
      const volume = (spec.volumes ?? []).find((v) => v.name === configMount?.name);
      const cm = configMaps.get(volume?.configMap?.name);
      const text = cm?.data?.[path.basename(configPath)];
      if (!text) { fail(where, `${configPath} is not a key of a mounted ConfigMap`); continue; }
      // The pod's file system under a temp root: each mount a directory.
      const root = fs.mkdtempSync(path.join(work, `${w.metadata.name}-`));
      // Each mount path (longest first) once: placeholders, so that a
      // replaced path is never replaced again.
      let local = text;
      mounts.forEach((m, i) => {
        fs.mkdirSync(path.join(root, m.mountPath), { recursive: true });
        local = local.split(m.mountPath).join(`\u0000${i}\u0000`);
      });
      mounts.forEach((m, i) => { local = local.split(`\u0000${i}\u0000`).join(path.join(root, m.mountPath)); });
      for (const m of mounts) {
        const v = (spec.volumes ?? []).find((x) => x.name === m.name);
        if (!v?.secret) continue;
        const named = text.match(new RegExp(`${m.mountPath}/[\\w.-]+`, 'g')) ?? [];
        for (const file of named) {
          const pem = /key/.test(path.basename(file)) ? cert.key : cert.crt;
          fs.writeFileSync(path.join(root, file), pem, { mode: 0o600 });
        }
      }
      const localConfig = path.join(root, configPath);
      fs.writeFileSync(localConfig, local);
      const env = { PATH: process.env.PATH };
      for (const e of c.env ?? []) {
        const field = e.valueFrom?.fieldRef?.fieldPath;
        if (field !== undefined) {
          // The downward API: only the pod's name is used (SMIMEGATE_POD_NAME).
          if (field !== 'metadata.name') fail(where, `env ${e.name}: fieldRef ${field} is not supported`);
          env[e.name] = `${w.metadata.name}-0`;
          continue;
        }
        env[e.name] = e.valueFrom?.secretKeyRef ? crypto.randomBytes(32).toString('base64') : e.value;
      }
      const r = spawnSync(smimegate, ['check-config', '--stage', stage, '--config', localConfig],
                          { env, encoding: 'utf8' });
      if (r.error) {
        fail(where, `cannot run ${smimegate}: ${r.error.message}`);
      } else if (r.status !== 0) {
        fail(where, `smimegate check-config --stage ${stage} of ${configPath} exits ${r.status}: ${r.stderr.trim()}`);
      }
      checked += 1;
    }
  }
  return checked;
}

let objects = 0;
let configs = 0;
for (const dir of overlays()) {
  const name = path.relative(repo, dir);
  let docs;
  try {
    docs = render(dir);
  } catch (e) {
    fail(name, `kubectl kustomize: ${e.stderr || e.message}`);
    continue;
  }
  for (const o of docs) {
    const model = await modelOf(o.apiVersion, o.kind);
    if (!model) { fail(name, `no schema for ${o.apiVersion} ${o.kind}`); continue; }
    try {
      new model(o).validate();
    } catch (e) {
      fail(`${name} ${o.kind}/${o.metadata?.name}`, e.message);
    }
    objects += 1;
  }
  checkReferences(docs, name);
  configs += checkConfigs(docs, name);
}
if (failures.length > 0) {
  console.log(failures.map((f) => `FAIL: ${f}`).join('\n'));
  process.exit(1);
}
console.log(`manifests: ${overlays().length} overlays, ${objects} objects valid, ${configs} configurations pass check-config`);
