// validate.js - offline checks of KubeVox's Kubernetes objects.
//
// Every object of the rendered manifests (`kubectl kustomize k8s/`) and of
// the configuration (`k8s/config.sh`) is validated against the Kubernetes
// OpenAPI schemas with the npm package kubernetes-models, which needs no
// cluster.  Then come the properties this deployment depends on and a
// schema does not see: one replica per node on the host network, probes
// that run kubevoxd's own SIP-path check, a grace period that covers the
// drain, the SIP NodePort that keeps phones' addresses, and no password in
// the ConfigMap.
//
// usage: node validate.js NODE_MODULES MANIFESTS.yaml CONFIG.yaml DRAIN_TIMEOUT
// Prints one line per problem and exits 1 if there is any, else prints a
// summary and exits 0.
"use strict";

const fs = require("fs");
const path = require("path");

if (process.argv.length !== 6) {
	console.error("usage: node validate.js NODE_MODULES MANIFESTS.yaml CONFIG.yaml DRAIN_TIMEOUT");
	process.exit(2);
}
const modules = process.argv[2];
const YAML = require(path.join(modules, "yaml"));
const drainTimeout = Number(process.argv[5]);
const problems = [];

function problem(what) {
	problems.push(what);
}

function load(file) {
	const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
	const objs = [];

	for (const d of docs) {
		if (d.errors.length) {
			problem(`${file}: YAML: ${d.errors[0].message}`);
			continue;
		}
		const o = d.toJS();
		if (o !== null && o !== undefined)
			objs.push(o);
	}
	return objs;
}

function id(o) {
	const name = o.metadata && o.metadata.name ? o.metadata.name : "(no name)";
	return `${o.kind || "(no kind)"}/${name}`;
}

// The model class for apiVersion and kind, e.g. apps/v1 Deployment is
// kubernetes-models/apps/v1/Deployment.
function model(o) {
	if (typeof o.apiVersion !== "string" || typeof o.kind !== "string" ||
	    !/^[a-z0-9.]+(\/[a-z0-9]+)?$/.test(o.apiVersion) || !/^[A-Za-z]+$/.test(o.kind))
		return null;
	try {
		const m = require(path.join(modules, "kubernetes-models", o.apiVersion, o.kind));
		return m[o.kind] || null;
	} catch (e) {
		return null;
	}
}

function schemaCheck(o) {
	const M = model(o);

	if (!M) {
		problem(`${id(o)}: no schema for apiVersion ${o.apiVersion} kind ${o.kind}`);
		return;
	}
	try {
		new M(o).validate();
	} catch (e) {
		problem(`${id(o)}: schema: ${e.message}`);
	}
}

function find(objs, kind, name) {
	const o = objs.find((x) => x.kind === kind && x.metadata && x.metadata.name === name);

	if (!o)
		problem(`${kind}/${name}: missing`);
	return o;
}

// Does a label selector (matchLabels only, as used here) pick labels?
function selects(matchLabels, labels) {
	if (!matchLabels || !labels || !Object.keys(matchLabels).length)
		return false;
	return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
}

function probeCommand(c, which) {
	const p = c[which];

	if (!p || !p.exec || !Array.isArray(p.exec.command))
		return null;
	return p.exec.command;
}

function checkProbe(c, which, want) {
	const cmd = probeCommand(c, which);

	if (!cmd) {
		problem(`Deployment/kubevox: ${which} is not an exec probe`);
		return;
	}
	if (cmd.length < 3 || path.basename(cmd[0]) !== "kubevoxd" ||
	    cmd[1] !== "--probe" || cmd[2] !== want)
		problem(`Deployment/kubevox: ${which} runs ${JSON.stringify(cmd)}, ` +
			`not kubevoxd --probe ${want}`);
	const p = c[which];
	if (!(p.periodSeconds > 0) || !(p.timeoutSeconds > 0) || !(p.failureThreshold > 0))
		problem(`Deployment/kubevox: ${which} needs periodSeconds, timeoutSeconds ` +
			`and failureThreshold`);
}

function checkDeployment(objs, cm, secret) {
	const d = find(objs, "Deployment", "kubevox");

	if (!d || !d.spec || !d.spec.template || !d.spec.template.spec)
		return;
	const pod = d.spec.template.spec;
	const labels = (d.spec.template.metadata || {}).labels || {};
	const c = (pod.containers || []).find((x) => x.name === "kubevox");

	if (!selects((d.spec.selector || {}).matchLabels, labels))
		problem("Deployment/kubevox: its selector does not pick its own pods");
	if (pod.hostNetwork !== true)
		problem("Deployment/kubevox: hostNetwork is not true");
	if (pod.dnsPolicy !== "ClusterFirstWithHostNet")
		problem("Deployment/kubevox: dnsPolicy is not ClusterFirstWithHostNet " +
			"(a host-network pod would not resolve cluster names)");

	const terms = (((pod.affinity || {}).podAntiAffinity || {})
		.requiredDuringSchedulingIgnoredDuringExecution) || [];
	if (!terms.some((t) => t.topologyKey === "kubernetes.io/hostname" &&
			 selects((t.labelSelector || {}).matchLabels, labels)))
		problem("Deployment/kubevox: no required podAntiAffinity on " +
			"kubernetes.io/hostname against its own pods");

	const ru = ((d.spec.strategy || {}).rollingUpdate) || {};
	if (d.spec.strategy && d.spec.strategy.type === "RollingUpdate" && ru.maxSurge !== 0)
		problem("Deployment/kubevox: rollingUpdate.maxSurge must be 0 " +
			"(a surge pod finds no free node)");

	if (!(pod.terminationGracePeriodSeconds >= drainTimeout))
		problem(`Deployment/kubevox: terminationGracePeriodSeconds ` +
			`${pod.terminationGracePeriodSeconds} is less than the drain timeout ` +
			`${drainTimeout}`);

	const psc = pod.securityContext || {};
	if (psc.runAsNonRoot !== true || !(psc.runAsUser > 0))
		problem("Deployment/kubevox: the pod does not run as a non-root user");

	if (!c) {
		problem("Deployment/kubevox: no container named kubevox");
		return;
	}
	checkProbe(c, "startupProbe", "live");
	checkProbe(c, "livenessProbe", "live");
	for (const which of ["startupProbe", "livenessProbe"]) {
		const g = (c[which] || {}).terminationGracePeriodSeconds;
		if (!(g > 0 && g <= 60))
			problem(`Deployment/kubevox: ${which} has no terminationGracePeriodSeconds ` +
				`of its own (at most 60): a hung kubevoxd would be killed only ` +
				`after the drain's grace period`);
	}
	checkProbe(c, "readinessProbe", "ready");

	const r = c.resources || {};
	for (const kind of ["requests", "limits"]) {
		for (const res of ["cpu", "memory"]) {
			if (!r[kind] || r[kind][res] === undefined)
				problem(`Deployment/kubevox: no ${kind}.${res}`);
		}
	}
	const csc = c.securityContext || {};
	if (csc.allowPrivilegeEscalation !== false)
		problem("Deployment/kubevox: allowPrivilegeEscalation is not false");

	if (!(c.ports || []).some((p) => p.containerPort === 5060 && p.protocol === "UDP"))
		problem("Deployment/kubevox: port 5060/UDP is not declared " +
			"(the scheduler would not see the host port)");

	// /etc/kubevox: the ConfigMap and the Secret of config.sh.
	const mount = (c.volumeMounts || []).find((m) => m.mountPath === "/etc/kubevox");
	const vol = mount && (pod.volumes || []).find((v) => v.name === mount.name);
	if (!vol || !vol.projected) {
		problem("Deployment/kubevox: /etc/kubevox is not a projected volume");
		return;
	}
	const srcs = vol.projected.sources || [];
	const cmName = srcs.map((s) => s.configMap && s.configMap.name).find(Boolean);
	const secretName = srcs.map((s) => s.secret && s.secret.name).find(Boolean);
	if (!cm || cmName !== cm.metadata.name)
		problem(`Deployment/kubevox: /etc/kubevox has ConfigMap ${cmName || "none"}, ` +
			`config.sh makes ${cm ? cm.metadata.name : "none"}`);
	if (!secret || secretName !== secret.metadata.name)
		problem(`Deployment/kubevox: /etc/kubevox has Secret ${secretName || "none"}, ` +
			`config.sh makes ${secret ? secret.metadata.name : "none"}`);
}

function checkService(objs, podLabels) {
	const s = find(objs, "Service", "kubevox-sip");

	if (!s || !s.spec)
		return;
	if (s.spec.type !== "NodePort")
		problem("Service/kubevox-sip: type is not NodePort");
	if (s.spec.externalTrafficPolicy !== "Local")
		problem("Service/kubevox-sip: externalTrafficPolicy is not Local " +
			"(phones' source addresses would be lost to SNAT)");
	if (!selects(s.spec.selector, podLabels))
		problem("Service/kubevox-sip: its selector does not pick the kubevox pods");
	for (const proto of ["UDP", "TCP"]) {
		const p = (s.spec.ports || []).find((x) => x.protocol === proto);
		if (!p || p.nodePort !== 30060 || p.port !== 5060 ||
		    (p.targetPort !== 5060 && p.targetPort !== "sip-" + proto.toLowerCase()))
			problem(`Service/kubevox-sip: no ${proto} port 5060 on nodePort 30060`);
	}
}

function checkPdb(objs, podLabels) {
	const p = find(objs, "PodDisruptionBudget", "kubevox");

	if (!p || !p.spec)
		return;
	if (!selects((p.spec.selector || {}).matchLabels, podLabels))
		problem("PodDisruptionBudget/kubevox: its selector does not pick the kubevox pods");
	if (p.spec.maxUnavailable === undefined && p.spec.minAvailable === undefined)
		problem("PodDisruptionBudget/kubevox: neither maxUnavailable nor minAvailable");
}

function checkRedis(objs) {
	const st = find(objs, "StatefulSet", "redis");
	const svc = find(objs, "Service", "redis");

	if (!st || !svc || !st.spec || !svc.spec)
		return;
	const labels = ((st.spec.template || {}).metadata || {}).labels || {};
	if (st.spec.serviceName !== svc.metadata.name)
		problem("StatefulSet/redis: serviceName is not the redis Service");
	if (!selects(svc.spec.selector, labels))
		problem("Service/redis: its selector does not pick the redis pods");
	if (!(svc.spec.ports || []).some((p) => p.port === 6379))
		problem("Service/redis: no port 6379");
}

// A credential option in Asterisk syntax, outside comments.
const CREDENTIAL = /^[ \t]*(password|md5_cred|password_digest|nonce_secret)[ \t]*=>?[ \t]*(.*)$/gm;

function credentials(text) {
	const found = [];
	let m;

	CREDENTIAL.lastIndex = 0;
	while ((m = CREDENTIAL.exec(text)) !== null) {
		const value = m[2].replace(/;.*$/, "").trim();
		found.push({ option: m[1], value });
	}
	return found;
}

function checkConfig(cfg) {
	const cm = find(cfg, "ConfigMap", "kubevox-config");
	const secret = find(cfg, "Secret", "kubevox-auth");

	if (!cm || !secret)
		return { cm, secret };
	const data = cm.data || {};
	const secretValues = [];

	for (const [k, b64] of Object.entries(secret.data || {})) {
		const text = Buffer.from(String(b64), "base64").toString("utf8");
		for (const c of credentials(text)) {
			if (c.value.length >= 4)
				secretValues.push(c.value);
		}
		if (!/_auth\.conf$/.test(k))
			problem(`Secret/kubevox-auth: unexpected key ${k}`);
	}
	if (!secretValues.length)
		problem("Secret/kubevox-auth: holds no password");
	if (!Object.keys(data).length)
		problem("ConfigMap/kubevox-config: empty");
	for (const [k, text] of Object.entries(data)) {
		if (/_auth\.conf$/.test(k))
			problem(`ConfigMap/kubevox-config: holds ${k}, which belongs in the Secret`);
		for (const c of credentials(String(text)))
			problem(`ConfigMap/kubevox-config: ${k} sets ${c.option}`);
		for (const v of secretValues) {
			if (String(text).includes(v))
				problem(`ConfigMap/kubevox-config: ${k} contains a password of the Secret`);
		}
	}
	if (Object.keys(cm.binaryData || {}).length)
		problem("ConfigMap/kubevox-config: unexpected binaryData");
	return { cm, secret };
}

const manifests = load(process.argv[3]);
const config = load(process.argv[4]);

if (!Number.isInteger(drainTimeout) || drainTimeout <= 0)
	problem(`bad drain timeout ${process.argv[5]}`);
for (const o of manifests.concat(config))
	schemaCheck(o);
for (const o of manifests) {
	if (o.kind === "ConfigMap" || o.kind === "Secret")
		problem(`${id(o)}: in the manifests: configuration comes from config.sh`);
}

const { cm, secret } = checkConfig(config);
checkDeployment(manifests, cm, secret);
const dep = manifests.find((o) => o.kind === "Deployment" && o.metadata.name === "kubevox");
const podLabels = dep && dep.spec && dep.spec.template && dep.spec.template.metadata ?
	dep.spec.template.metadata.labels : {};
checkService(manifests, podLabels);
checkPdb(manifests, podLabels);
checkRedis(manifests);

if (problems.length) {
	for (const p of problems)
		console.log(`FAIL: ${p}`);
	process.exit(1);
}
console.log(`ok: ${manifests.length + config.length} objects valid ` +
	`(${manifests.concat(config).map(id).join(", ")})`);
