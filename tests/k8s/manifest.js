// manifest.js - small edits and reads of rendered manifests for the podman
// deployment test, where shell tools would have to guess at YAML.
//
//   node manifest.js NODE_MODULES split RENDERED SUFFIX KUBE_OUT CM_OUT
//       Writes the ConfigMaps of RENDERED to CM_OUT (for podman kube play
//       --configmap) and everything else to KUBE_OUT, with SUFFIX added to
//       the name of every emptyDir volume: podman 4.3 turns an emptyDir
//       into a named volume, which two runs of the test on one machine
//       would otherwise share.
//   node manifest.js NODE_MODULES liveness RENDERED
//       Prints the livenessProbe's periodSeconds, timeoutSeconds,
//       failureThreshold and terminationGracePeriodSeconds of the first
//       Deployment's first container.
"use strict";

const fs = require("fs");
const path = require("path");

function usage() {
	console.error("usage: node manifest.js NODE_MODULES split RENDERED SUFFIX KUBE_OUT CM_OUT\n" +
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

function split(objs, suffix, kubeOut, cmOut) {
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
		}
		for (const c of spec.containers || []) {
			for (const m of c.volumeMounts || []) {
				if (renamed[m.name])
					m.name = renamed[m.name];
			}
		}
	}
	fs.writeFileSync(kubeOut, dump(objs.filter((o) => o.kind !== "ConfigMap")));
	fs.writeFileSync(cmOut, dump(objs.filter((o) => o.kind === "ConfigMap")));
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
if (cmd === "split" && rest.length === 3)
	split(objs, rest[0], rest[1], rest[2]);
else if (cmd === "liveness" && rest.length === 0)
	liveness(objs);
else
	usage();
