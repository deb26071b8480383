// manifest.js - small edits and reads of rendered manifests for the podman
// deployment test, where shell tools would have to guess at YAML.
//
//   node manifest.js NODE_MODULES split RENDERED SUFFIX KUBE_OUT CM_DIR STATE_OUT
//       Writes each ConfigMap of RENDERED to CM_DIR/NAME.yaml (for podman
//       kube play --configmap, which reads one object per file), its
//       StatefulSets to STATE_OUT and everything else to
//       KUBE_OUT, with SUFFIX added to the name of every emptyDir volume
//       and to every volume claim's claimName: podman 4.3 turns both into
//       named volumes, which two runs of the test on one machine would
//       otherwise share.  podman 4.3 cannot
//       play a StatefulSet, so each becomes a Deployment with the same
//       name, replicas, selector and pod template (a StatefulSet of one
//       without volume claims, as k8s/ has, runs the same pod); it goes to
//       a file of its own because it must run first: its pod's address is
//       the one the others are given (see alias).
//   node manifest.js NODE_MODULES alias FILE HOST IP
//       Adds "IP HOST" to the /etc/hosts of every Deployment's pods in FILE
//       (hostAliases), in place: what a Service's DNS name gives on a
//       cluster, since podman ignores Services.
//   node manifest.js NODE_MODULES unpack RENDERED DIR
//       Writes every key of the ConfigMaps and Secrets of RENDERED (as
//       k8s/config.sh prints them) into DIR, one file per key, as a pod
//       that mounts them all in one directory sees them.
//   node manifest.js NODE_MODULES liveness RENDERED
//       Prints the livenessProbe's periodSeconds, timeoutSeconds,
//       failureThreshold and terminationGracePeriodSeconds of the first
//       Deployment's first container.
"use strict";

const fs = require("fs");
const path = require("path");

function usage() {
	console.error("usage: node manifest.js NODE_MODULES split RENDERED SUFFIX KUBE_OUT CM_DIR STATE_OUT\n" +
		"       node manifest.js NODE_MODULES alias FILE HOST IP\n" +
		"       node manifest.js NODE_MODULES unpack RENDERED DIR\n" +
		"       node manifest.js NODE_MODULES liveness RENDERED");
	process.exit(2);
}

const [modules, cmd, file, ...rest] = process.argv.slice(2);
if (!modules || !cmd || !file)
	usage();
const YAML = require(path.join(modules, "yaml"));

function load(f) {
	const objs = [];

	for (const d of YAML.parseAllDocuments(fs.readFileSync(f, "utf8"))) {
		if (d.errors.length) {
			console.error(`${f}: ${d.errors[0].message}`);
			process.exit(1);
		}
		const o = d.toJS();
		if (o)
			objs.push(o);
	}
	return objs;
}

function dump(objs) {
	return objs.map((o) => YAML.stringify(o)).join("---\n");
}

function podSpec(o) {
	return o && o.spec && o.spec.template && o.spec.template.spec;
}

// A StatefulSet as the Deployment that runs the same pods.
function asDeployment(o) {
	const spec = o.spec || {};

	if ((spec.volumeClaimTemplates || []).length) {
		console.error(`StatefulSet ${o.metadata.name}: volume claims cannot be played as a Deployment`);
		process.exit(1);
	}
	return {
		apiVersion: "apps/v1",
		kind: "Deployment",
		metadata: o.metadata,
		spec: { replicas: spec.replicas, selector: spec.selector, template: spec.template },
	};
}

function split(objs, suffix, kubeOut, cmDir, stateOut) {
	if (!/^[a-z0-9-]+$/.test(suffix)) {
		console.error(`bad suffix ${suffix}`);
		process.exit(2);
	}
	for (const o of objs) {
		const spec = podSpec(o);
		if (!spec)
			continue;
		const renamed = {};
		for (const v of spec.volumes || []) {
			if (v.emptyDir) {
				renamed[v.name] = v.name + suffix;
				v.name = renamed[v.name];
			}
			// A claim is a named volume to podman: this run's own.
			if (v.persistentVolumeClaim)
				v.persistentVolumeClaim.claimName += suffix;
		}
		for (const c of spec.containers || []) {
			for (const m of c.volumeMounts || []) {
				if (renamed[m.name])
					m.name = renamed[m.name];
			}
		}
	}
	fs.writeFileSync(kubeOut, dump(objs.filter((o) => o.kind !== "ConfigMap" &&
		o.kind !== "StatefulSet")));
	for (const o of objs.filter((o) => o.kind === "ConfigMap"))
		fs.writeFileSync(path.join(cmDir, o.metadata.name + ".yaml"), dump([o]));
	fs.writeFileSync(stateOut, dump(objs.filter((o) => o.kind === "StatefulSet").map(asDeployment)));
}

function alias(objs, f, host, ip) {
	let n = 0;

	for (const o of objs) {
		const spec = o.kind === "Deployment" && podSpec(o);
		if (!spec)
			continue;
		spec.hostAliases = (spec.hostAliases || []).concat([{ ip: ip, hostnames: [host] }]);
		n++;
	}
	if (!n) {
		console.error(`${f}: no Deployment`);
		process.exit(1);
	}
	fs.writeFileSync(f, dump(objs));
}

function unpack(objs, dir) {
	const seen = new Set();

	for (const o of objs) {
		if (o.kind !== "ConfigMap" && o.kind !== "Secret")
			continue;
		const files = {};
		for (const [k, v] of Object.entries(o.data || {}))
			files[k] = o.kind === "Secret" ? Buffer.from(v, "base64") : v;
		for (const [k, v] of Object.entries(o.stringData || {}))
			files[k] = v;
		for (const [k, v] of Object.entries(files)) {
			if (seen.has(k) || !/^[A-Za-z0-9._-]+$/.test(k) || k.startsWith("..")) {
				console.error(`${o.kind} ${o.metadata.name}: key ${k} twice or not a file name`);
				process.exit(1);
			}
			seen.add(k);
			fs.writeFileSync(path.join(dir, k), v);
		}
	}
}

function liveness(objs) {
	const d = objs.find((o) => o.kind === "Deployment");
	const spec = podSpec(d);
	const p = spec && spec.containers && spec.containers[0] && spec.containers[0].livenessProbe;

	if (!p) {
		console.error("no livenessProbe");
		process.exit(1);
	}
	console.log([p.periodSeconds || 10, p.timeoutSeconds || 1, p.failureThreshold || 3,
		p.terminationGracePeriodSeconds || spec.terminationGracePeriodSeconds || 30].join(" "));
}

const objs = load(file);
if (cmd === "split" && rest.length === 4)
	split(objs, rest[0], rest[1], rest[2], rest[3]);
else if (cmd === "alias" && rest.length === 2)
	alias(objs, file, rest[0], rest[1]);
else if (cmd === "unpack" && rest.length === 1)
	unpack(objs, rest[0]);
else if (cmd === "liveness" && rest.length === 0)
	liveness(objs);
else
	usage();
