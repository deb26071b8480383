// front.js - offline checks of the front door component (k8s/front, issue
// #10), on top of validate.js (which checks every object's schema and the
// rest of the deployment): what the front relies on and no schema sees.
//
// - DaemonSet kubevox-front: on the host network of the edge nodes
//   (nodeSelector kubevox.io/edge=true), cluster DNS from there; its front
//   container runs front.sh on the node's address (HOST_IP from
//   status.hostIP) at the replicas' SIP port, with the REPLICAS_FILE that
//   its replicas container writes in a volume both mount, from the name of
//   a headless Service of the manifests that selects the kubevoxd pods,
//   lists only ready ones and has their UDP port; root with no capability
//   but NET_BIND_SERVICE; a liveness probe.
// - Deployment kubevox: kept off the edge nodes (both bind port 5060).
//
// usage: node front.js NODE_MODULES MANIFESTS.yaml
// Prints one line per problem and exits 1 if there is any, else a summary.
"use strict";

const fs = require("fs");
const path = require("path");

if (process.argv.length !== 4) {
	console.error("usage: node front.js NODE_MODULES MANIFESTS.yaml");
	process.exit(2);
}
const YAML = require(path.join(process.argv[2], "yaml"));
const problems = [];
const problem = (what) => problems.push(what);

const objs = YAML.parseAllDocuments(fs.readFileSync(process.argv[3], "utf8"))
	.map((d) => d.toJS()).filter((o) => o);
const get = (kind, name) => objs.find((o) => o.kind === kind && o.metadata &&
	o.metadata.name === name);
const EDGE = "kubevox.io/edge";
const DS = "DaemonSet/kubevox-front";

function selects(sel, labels) {
	return !!sel && Object.keys(sel).length > 0 &&
		Object.entries(sel).every(([k, v]) => (labels || {})[k] === v);
}

// The port in "$(HOST_IP):5060"-like values.
function portOf(s) {
	const m = /:(\d+)$/.exec(s || "");
	return m ? Number(m[1]) : null;
}

const dep = get("Deployment", "kubevox");
const depPod = dep && dep.spec && dep.spec.template;
const kv = depPod && (depPod.spec.containers || []).find((c) => c.name === "kubevox");
const adv = kv && (kv.env || []).find((e) => e.name === "KUBEVOX_ADVERTISE");
const sipPort = adv ? portOf(adv.value) : 5060;

if (!dep) {
	problem("Deployment/kubevox: missing");
} else {
	const terms = (((depPod.spec.affinity || {}).nodeAffinity || {})
		.requiredDuringSchedulingIgnoredDuringExecution || {}).nodeSelectorTerms || [];
	// Every term must keep edge nodes out (terms are ORed).
	const offEdge = terms.length > 0 && terms.every((t) => (t.matchExpressions || []).some(
		(e) => e.key === EDGE && (e.operator === "DoesNotExist" ||
			(e.operator === "NotIn" && (e.values || []).includes("true")))));
	if (!offEdge)
		problem(`Deployment/kubevox: no required nodeAffinity keeping it off ${EDGE} ` +
			`nodes (the front binds port ${sipPort} there too)`);
}

const ds = get("DaemonSet", "kubevox-front");
if (!ds) {
	problem(`${DS}: missing`);
} else {
	const pod = ds.spec.template.spec || {};
	if (pod.hostNetwork !== true)
		problem(`${DS}: hostNetwork is not true (phones must reach the node's port, ` +
			"and the front must see their own addresses)");
	if (pod.dnsPolicy !== "ClusterFirstWithHostNet")
		problem(`${DS}: dnsPolicy is not ClusterFirstWithHostNet (the Service's name ` +
			"would not resolve from the host's network)");
	if (!pod.nodeSelector || pod.nodeSelector[EDGE] !== "true")
		problem(`${DS}: nodeSelector is not ${EDGE}: "true"`);
	const cs = pod.containers || [];
	const front = cs.find((c) => c.name === "front");
	const res = cs.find((c) => c.name === "replicas");
	const mountOf = (c, file) => (c.volumeMounts || []).find(
		(m) => file.startsWith(m.mountPath.replace(/\/?$/, "/")));
	if (!front || !res) {
		problem(`${DS}: needs the containers front and replicas`);
	} else {
		const args = front.args || [];
		if (!/(^|\/)kubevox-front(:|$)/.test(front.image || ""))
			problem(`${DS}: front runs image ${front.image}, not kubevox-front`);
		if (args.length !== 2)
			problem(`${DS}: front's args ${JSON.stringify(args)} are not ` +
				"LISTEN_ADDR:PORT REPLICAS_FILE");
		const env = front.env || [];
		const hi = env.find((e) => e.name === "HOST_IP");
		if (args[0] !== `$(HOST_IP):${sipPort}`)
			problem(`${DS}: front listens on ${args[0]}, not $(HOST_IP):${sipPort}`);
		if (!hi || !hi.valueFrom || !hi.valueFrom.fieldRef ||
		    hi.valueFrom.fieldRef.fieldPath !== "status.hostIP")
			problem(`${DS}: HOST_IP does not come from status.hostIP`);
		const sc = front.securityContext || {};
		const caps = sc.capabilities || {};
		if (!(caps.drop || []).includes("ALL") ||
		    (caps.add || []).some((c) => c !== "NET_BIND_SERVICE"))
			problem(`${DS}: front has capabilities beyond NET_BIND_SERVICE`);
		if (sc.allowPrivilegeEscalation !== false)
			problem(`${DS}: front allows privilege escalation`);
		if (!front.livenessProbe)
			problem(`${DS}: front has no livenessProbe`);
		const rargs = (res.command || []).concat(res.args || []);
		if (!rargs.length || path.basename(rargs[0]) !== "replicas.sh" || rargs.length < 4) {
			problem(`${DS}: replicas does not run replicas.sh NAME PORT FILE`);
		} else {
			const [, name, port, file] = rargs;
			if (file !== args[1])
				problem(`${DS}: replicas writes ${file}, front reads ${args[1]}`);
			const fm = args[1] && mountOf(front, args[1]);
			const rm = mountOf(res, file);
			if (!fm || !rm || fm.name !== rm.name || fm.mountPath !== rm.mountPath ||
			    !(pod.volumes || []).some((v) => v.name === fm.name && v.emptyDir))
				problem(`${DS}: ${file} is not on an emptyDir both containers mount`);
			if (Number(port) !== sipPort)
				problem(`${DS}: replicas uses port ${port}, the replicas listen on ${sipPort}`);
			const svc = get("Service", name.split(".")[0]);
			if (!svc) {
				problem(`${DS}: replicas resolves ${name}, which no Service of the ` +
					"manifests is");
			} else {
				const s = svc.spec || {};
				if (s.clusterIP !== "None")
					problem(`Service/${name}: not headless (its name would give ` +
						"one virtual address, not the replicas')");
				if (s.publishNotReadyAddresses)
					problem(`Service/${name}: publishNotReadyAddresses lists ` +
						"draining replicas");
				if (!selects(s.selector, depPod && depPod.metadata.labels))
					problem(`Service/${name}: its selector does not pick the ` +
						"kubevoxd pods");
				if (!(s.ports || []).some((p) => p.protocol === "UDP" &&
				    p.port === sipPort))
					problem(`Service/${name}: no UDP port ${sipPort}`);
			}
		}
	}
}

if (problems.length) {
	for (const p of problems)
		console.log(`FAIL: ${p}`);
	process.exit(1);
}
console.log(`ok: the front door's DaemonSet, Service and Deployment patch ` +
	`(${objs.length} objects)`);
