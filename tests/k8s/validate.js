// validate.js - offline checks of KubeVox's Kubernetes objects.
//
// Every object of the rendered manifests (`kubectl kustomize k8s/`) and of
// the configuration (`k8s/config.sh`) is validated against the Kubernetes
// OpenAPI schemas with the npm package kubernetes-models, which needs no
// cluster.  Then come the properties this deployment depends on and a
// schema does not see: one replica per node on the host network, probes
// that run kubevoxd's own SIP-path check, a grace period that covers the
// drain, the SIP NodePort that keeps phones' addresses, and no password in
// the ConfigMap.  And the cluster mode: three replicas named after their
// node and advertised at its address (downward API) on the UDP port of
// pjsip.conf; kubevox.conf on the Redis of the manifests, with every
// #include found in the pods' /etc/kubevox and the credentials from the
// Secret kubevox-cluster of k8s/secret.sh; Redis with that password,
// without a persistent volume and without saving.  With the component
// k8s/redis-ha (a StatefulSet redis-ha in the manifests): kubevox.conf on
// its sentinels (redis-sentinel://POD.SERVICE:26379,.../MASTER, every pod
// one of the StatefulSet, the master the one its sentinels monitor), three
// pods of Redis and Sentinel with the same password, no volume, no
// saving, and no single Redis left.
//
// usage: node validate.js NODE_MODULES MANIFESTS.yaml CONFIG.yaml DRAIN_TIMEOUT
// CONFIG.yaml holds what k8s/config.sh and k8s/secret.sh print.
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
	const secretNames = srcs.map((s) => s.secret && s.secret.name).filter(Boolean);
	if (!cm || cmName !== cm.metadata.name)
		problem(`Deployment/kubevox: /etc/kubevox has ConfigMap ${cmName || "none"}, ` +
			`config.sh makes ${cm ? cm.metadata.name : "none"}`);
	if (!secret || !secretNames.includes(secret.metadata.name))
		problem(`Deployment/kubevox: /etc/kubevox has Secret ${secretNames.join(", ") || "none"}, ` +
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
const CREDENTIAL =
	/^[ \t]*(password|md5_cred|password_digest|nonce_secret|secret|token)[ \t]*=>?[ \t]*(.*)$/gm;

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
	const cluster = cfg.find((o) => o.kind === "Secret" && o.metadata &&
				 o.metadata.name === "kubevox-cluster");
	for (const text of Object.values(cluster ? decoded(cluster) : {})) {
		for (const v of [...credentials(text).map((c) => c.value),
				 ...(/^[0-9a-f]{16,}$/.test(text) ? [text] : [])]) {
			for (const [k, t] of Object.entries(data)) {
				if (v.length >= 16 && String(t).includes(v))
					problem(`ConfigMap/kubevox-config: ${k} contains a credential of ` +
						`Secret/kubevox-cluster`);
			}
		}
	}
	return { cm, secret };
}

// ---- cluster mode ----

function decoded(secret) {
	const out = {};

	for (const [k, b64] of Object.entries(secret.data || {}))
		out[k] = Buffer.from(String(b64), "base64").toString("utf8");
	for (const [k, v] of Object.entries(secret.stringData || {}))
		out[k] = String(v);
	return out;
}

// Asterisk's grammar, as much as these files use: [sections], name = value,
// #include / #tryinclude, ';' comments (not "\;").  Returns the sections in
// order, each { name, vars: Map, includes: [file] }, and the includes met
// outside any section.
function astParse(text) {
	const sections = [];
	const top = [];
	let cur = null;

	for (let line of String(text).split("\n")) {
		line = line.replace(/(^|[^\\]);.*$/, "$1").trim();
		if (!line)
			continue;
		let m = /^#(?:try)?include\s+["<]?([^">]+?)[">]?$/.exec(line);
		if (m) {
			(cur ? cur.includes : top).push(m[1]);
			continue;
		}
		m = /^\[([^\]]+)\]/.exec(line);
		if (m) {
			cur = { name: m[1].trim().toLowerCase(), vars: new Map(), includes: [] };
			sections.push(cur);
			continue;
		}
		m = /^([^=]+?)\s*=>?\s*(.*)$/.exec(line);
		if (m && cur)
			cur.vars.set(m[1].trim().toLowerCase(), m[2].trim());
	}
	return { sections, top };
}

// The variables of every [name] section of text, with the lines of the
// files they #include (files: path -> text), later ones winning.
function sectionVars(text, name, files) {
	const vars = new Map();

	for (const sec of astParse(text).sections.filter((x) => x.name === name)) {
		for (const [k, v] of sec.vars)
			vars.set(k, v);
		for (const f of sec.includes) {
			if (files[f] === undefined)
				continue;
			// An included file continues the section it is included in.
			for (const [k, v] of astParse(`[${name}]\n` + files[f]).sections[0].vars)
				vars.set(k, v);
		}
	}
	return vars;
}

// What /etc/kubevox holds in a kubevox pod: path -> text, from the
// projected volume's sources and the config objects.
function etcKubevox(pod, c, cfg) {
	const mount = (c.volumeMounts || []).find((m) => m.mountPath === "/etc/kubevox");
	const vol = mount && (pod.volumes || []).find((v) => v.name === mount.name);
	const files = {};

	if (!vol || !vol.projected)
		return files;
	for (const src of vol.projected.sources || []) {
		const ref = src.configMap || src.secret;
		if (!ref)
			continue;
		const kind = src.configMap ? "ConfigMap" : "Secret";
		const o = cfg.find((x) => x.kind === kind && x.metadata && x.metadata.name === ref.name);
		if (!o) {
			problem(`Deployment/kubevox: /etc/kubevox wants ${kind}/${ref.name}, which ` +
				`config.sh and secret.sh do not make`);
			continue;
		}
		const data = kind === "Secret" ? decoded(o) : Object.assign({}, o.data || {});
		const items = ref.items || Object.keys(data).map((k) => ({ key: k, path: k }));
		for (const it of items) {
			if (data[it.key] === undefined) {
				problem(`Deployment/kubevox: ${kind}/${ref.name} has no key ${it.key}`);
				continue;
			}
			if (files[it.path] !== undefined)
				problem(`Deployment/kubevox: /etc/kubevox/${it.path} comes from two sources`);
			files[it.path] = String(data[it.key]);
		}
	}
	return files;
}

function envOf(c, name) {
	const env = c.env || [];
	const i = env.findIndex((e) => e.name === name);

	return i < 0 ? null : { index: i, env: env[i] };
}

// The port of the first UDP transport of pjsip.conf (5060 by default).
function udpPort(pjsip) {
	for (const sec of astParse(pjsip).sections) {
		if (sec.vars.get("type") !== "transport" ||
		    (sec.vars.get("protocol") || "udp").toLowerCase() !== "udp")
			continue;
		const m = /:(\d+)$/.exec(sec.vars.get("bind") || "");
		return m ? Number(m[1]) : 5060;
	}
	return null;
}

function checkCluster(manifests, cfg) {
	const d = find(manifests, "Deployment", "kubevox");
	const pod = d && d.spec && d.spec.template && d.spec.template.spec;
	const c = pod && (pod.containers || []).find((x) => x.name === "kubevox");

	if (!c)
		return;
	if (d.spec.replicas !== 3)
		problem(`Deployment/kubevox: replicas is ${d.spec.replicas}, not 3 (the original design)`);

	// The replica is its node: name and address from the downward API.
	const rep = envOf(c, "KUBEVOX_REPLICA");
	const host = envOf(c, "HOST_IP");
	const adv = envOf(c, "KUBEVOX_ADVERTISE");
	const field = (e) => e && e.env.valueFrom && e.env.valueFrom.fieldRef &&
		e.env.valueFrom.fieldRef.fieldPath;
	if (field(rep) !== "spec.nodeName")
		problem("Deployment/kubevox: KUBEVOX_REPLICA does not come from spec.nodeName " +
			"(a replacement pod on the same node must be the same replica)");
	if (field(host) !== "status.hostIP")
		problem("Deployment/kubevox: HOST_IP does not come from status.hostIP");
	const files = etcKubevox(pod, c, cfg);
	const port = files["pjsip.conf"] !== undefined ? udpPort(files["pjsip.conf"]) : null;
	const m = adv && /^\$\(HOST_IP\):(\d+)$/.exec(adv.env.value || "");
	if (!m)
		problem("Deployment/kubevox: KUBEVOX_ADVERTISE is not \"$(HOST_IP):PORT\"");
	else if (!host || host.index > adv.index)
		problem("Deployment/kubevox: HOST_IP must come before KUBEVOX_ADVERTISE, " +
			"which expands it");
	else if (port === null)
		problem("ConfigMap/kubevox-config: pjsip.conf has no UDP transport");
	else if (Number(m[1]) !== port)
		problem(`Deployment/kubevox: KUBEVOX_ADVERTISE port ${m[1]} is not the UDP ` +
			`transport's port ${port} of pjsip.conf`);

	// Every #include of the configuration is in /etc/kubevox.
	for (const [k, text] of Object.entries(files)) {
		if (!/\.conf$/.test(k))
			continue;
		const { sections, top } = astParse(text);
		for (const f of [...top, ...sections.flatMap((x) => x.includes)]) {
			if (files[f] === undefined)
				problem(`Deployment/kubevox: ${k} includes ${f}, which /etc/kubevox ` +
					`does not have`);
		}
	}
	const kv = files["kubevox.conf"];
	if (kv === undefined) {
		problem("ConfigMap/kubevox-config: no kubevox.conf");
		return;
	}
	const state = sectionVars(kv, "state", files);
	const cluster = sectionVars(kv, "cluster", files);
	const http = sectionVars(kv, "http", files);
	if ((state.get("backend") || "memory").toLowerCase() !== "redis")
		problem("kubevox.conf: [state] backend is not redis: the replicas would share nothing");
	const sentinel = /^redis-sentinel:\/\/([^/]+)\/([^/]+)$/i.exec(state.get("url") || "");
	const url = /^redis:\/\/([^/:]+):?(\d*)(\/\d+)?$/.exec(state.get("url") || "");
	const svc = url && manifests.find((o) => o.kind === "Service" && o.metadata.name === url[1]);
	if (sentinel)
		checkSentinelUrl(manifests, sentinel[1].split(","), sentinel[2]);
	else if (!url)
		problem(`kubevox.conf: [state] url '${state.get("url") || ""}' is not redis://HOST:PORT`);
	else if (!svc || !(svc.spec.ports || []).some((p) => p.port === Number(url[2] || 6379)))
		problem(`kubevox.conf: [state] url names ${url[1]}:${url[2] || 6379}, which no ` +
			`Service of the manifests serves`);
	for (const [sec, vars, opt] of [["state", state, "password"], ["cluster", cluster, "secret"],
					  ["http", http, "token"]]) {
		if (!((vars.get(opt) || "").length >= 16))
			problem(`kubevox.conf: [${sec}] has no ${opt} of 16 characters or more ` +
				`(from an #include of the Secret)`);
	}
	if (haMode(manifests))
		checkRedisHa(manifests, cfg, state.get("password"), sentinel ? sentinel[2] : null);
	else
		checkRedisCluster(manifests, cfg, state.get("password"));
}

function haMode(manifests) {
	return manifests.some((o) => o.kind === "StatefulSet" && o.metadata &&
			      o.metadata.name === "redis-ha");
}

// Every sentinel of the url is POD.SERVICE[:PORT]: a pod of a StatefulSet
// behind that headless Service, whose containers listen on PORT.
function checkSentinelUrl(manifests, hosts, master) {
	if (!haMode(manifests))
		problem("kubevox.conf: [state] url names sentinels, but the manifests have no " +
			"StatefulSet redis-ha (the component k8s/redis-ha)");
	if (hosts.length < 3)
		problem(`kubevox.conf: [state] url names ${hosts.length} sentinel(s): a quorum ` +
			`needs 3`);
	for (const h of hosts) {
		const m = /^([a-z0-9-]+)-(\d+)\.([a-z0-9-]+)(?::(\d+))?$/.exec(h);
		const svc = m && manifests.find((o) => o.kind === "Service" && o.metadata.name === m[3]);
		const st = m && manifests.find((o) => o.kind === "StatefulSet" &&
					       o.metadata.name === m[1]);
		const port = m ? Number(m[4] || 26379) : 0;
		if (!svc || !st) {
			problem(`kubevox.conf: [state] url names sentinel ${h}, which is no POD.SERVICE ` +
				`of a StatefulSet and a Service of the manifests`);
			continue;
		}
		const labels = ((st.spec.template || {}).metadata || {}).labels || {};
		if (svc.spec.clusterIP !== "None" || st.spec.serviceName !== svc.metadata.name ||
		    !selects(svc.spec.selector, labels))
			problem(`kubevox.conf: [state] url names sentinel ${h}: Service/${m[3]} is not ` +
				`the headless Service of StatefulSet/${m[1]}`);
		if (!(Number(m[2]) < (st.spec.replicas || 1)))
			problem(`kubevox.conf: [state] url names sentinel ${h}: StatefulSet/${m[1]} ` +
				`has ${st.spec.replicas || 1} replicas`);
		const pod = (st.spec.template || {}).spec || {};
		if (!(pod.containers || []).some((c) => (c.ports || []).some((p) => p.containerPort === port)) ||
		    !(svc.spec.ports || []).some((p) => p.port === port))
			problem(`kubevox.conf: [state] url names sentinel ${h}: nothing listens on ${port}`);
	}
	if (!/^[!-~]+$/.test(master))
		problem(`kubevox.conf: [state] url: bad master name '${master}'`);
}

// The component redis-ha: 3 pods of Redis and Sentinel (quorum 2), the
// [state] password for both (the Secret's redis.conf included, and the
// sentinels' requirepass and auth-pass from REDISCLI_AUTH), the master of
// the url monitored, no volume, no saving, no single Redis left.
function checkRedisHa(manifests, cfg, password, master) {
	const st = find(manifests, "StatefulSet", "redis-ha");
	const pod = st && st.spec && st.spec.template && st.spec.template.spec;

	for (const kind of ["StatefulSet", "Service"]) {
		if (manifests.some((o) => o.kind === kind && o.metadata.name === "redis"))
			problem(`${kind}/redis: still there beside redis-ha (two Redis, and the ` +
				`replicas on one of them only)`);
	}
	if (!pod)
		return;
	if (st.spec.replicas !== 3)
		problem(`StatefulSet/redis-ha: replicas is ${st.spec.replicas}, not 3 (a master, ` +
			`two replicas, a quorum of sentinels)`);
	if ((st.spec.volumeClaimTemplates || []).length ||
	    (pod.volumes || []).some((v) => v.persistentVolumeClaim))
		problem("StatefulSet/redis-ha: a PersistentVolume: apply fails without a default " +
			"StorageClass, and the replicas write their bindings back anyway");
	const redis = (pod.containers || []).find((c) => c.name === "redis");
	const sen = (pod.containers || []).find((c) => c.name === "sentinel");
	const init = (pod.initContainers || []).find((c) => c.name === "config");
	if (!redis || !sen || !init) {
		problem("StatefulSet/redis-ha: no containers redis and sentinel and init container config");
		return;
	}
	const args = (redis.command || []).concat(redis.args || []);
	const arg = (name) => {
		const i = args.indexOf(name);
		return i < 0 ? undefined : args[i + 1];
	};
	if (arg("--save") !== "")
		problem("StatefulSet/redis-ha: not --save \"\" (no snapshots without a volume)");
	if (arg("--appendonly") !== "no")
		problem("StatefulSet/redis-ha: not --appendonly no");
	for (const c of [redis, sen, init]) {
		const a = (c.command || []).concat(c.args || []);
		if (a.some((x) => /requirepass|masterauth|auth-pass/.test(String(x)) &&
			    String(x).includes(password)))
			problem(`StatefulSet/redis-ha: the password on the command line of ${c.name}`);
		const auth = (c.env || []).find((e) => e.name === "REDISCLI_AUTH");
		const ref = auth && auth.valueFrom && auth.valueFrom.secretKeyRef;
		const o = ref && cfg.find((x) => x.kind === "Secret" && x.metadata.name === ref.name);
		if (!o || decoded(o)[ref.key] !== password)
			problem(`StatefulSet/redis-ha: REDISCLI_AUTH of ${c.name} is not the password`);
	}
	// Redis includes the Secret's redis.conf: its requirepass.
	// The lines it writes, as sh prints them (its \" are ").
	const script = (init.command || []).concat(init.args || []).join("\n").replace(/\\"/g, "\"");
	const inc = /include ([^\s"]+)/.exec(script);
	let conf = null;
	for (const v of pod.volumes || []) {
		const mnt = (redis.volumeMounts || []).find((x) => x.name === v.name);
		if (!mnt || !v.secret)
			continue;
		const o = cfg.find((x) => x.kind === "Secret" && x.metadata &&
				   x.metadata.name === v.secret.secretName);
		const data = o ? decoded(o) : {};
		for (const it of v.secret.items || Object.keys(data).map((k) => ({ key: k, path: k }))) {
			if (inc && `${mnt.mountPath}/${it.path}` === inc[1] && data[it.key] !== undefined)
				conf = data[it.key];
		}
	}
	const rp = conf && /^[ \t]*requirepass[ \t]+(\S+)/m.exec(conf);
	if (!rp || rp[1] !== password)
		problem("StatefulSet/redis-ha: Redis does not include a redis.conf of the Secret " +
			"with kubevox.conf's [state] password");
	for (const want of ["masterauth \"$REDISCLI_AUTH\"", "requirepass \"$REDISCLI_AUTH\"",
			    "sentinel auth-pass " + master + " \"$REDISCLI_AUTH\""]) {
		if (!script.includes(want))
			problem(`StatefulSet/redis-ha: the configuration does not say ${want}`);
	}
	const mon = /sentinel monitor (\S+) \S+ 6379 (\d+)/.exec(script);
	if (!mon || mon[1] !== master)
		problem(`StatefulSet/redis-ha: its sentinels do not monitor the master ` +
			`'${master}' of kubevox.conf's url`);
	else if (Number(mon[2]) !== 2)
		problem(`StatefulSet/redis-ha: quorum ${mon[2]}, not 2 of 3 sentinels`);
	const svc = manifests.find((o) => o.kind === "Service" && o.metadata.name === st.spec.serviceName);
	if (!svc || svc.spec.publishNotReadyAddresses !== true)
		problem("StatefulSet/redis-ha: its Service does not publish pods before they are " +
			"ready (the sentinels and replicas could not find each other at the first start)");
}

// Redis: the password of [state], no persistent volume, nothing saved.
function checkRedisCluster(manifests, cfg, password) {
	const st = find(manifests, "StatefulSet", "redis");
	const svc = manifests.find((o) => o.kind === "Service" && o.metadata.name === "redis");
	const pod = st && st.spec && st.spec.template && st.spec.template.spec;
	const c = pod && (pod.containers || []).find((x) => x.name === "redis");

	if (!c)
		return;
	if (svc && svc.spec && svc.spec.clusterIP === "None")
		problem("Service/redis: headless: after a Redis restart the replicas would wait " +
			"for DNS to learn its new address");
	if ((st.spec.volumeClaimTemplates || []).length ||
	    (pod.volumes || []).some((v) => v.persistentVolumeClaim))
		problem("StatefulSet/redis: a PersistentVolume: apply fails without a default " +
			"StorageClass, and the replicas write their bindings back anyway");
	const args = (c.command || []).concat(c.args || []);
	const arg = (name) => {
		const i = args.indexOf(name);
		return i < 0 ? undefined : args[i + 1];
	};
	if (arg("--save") !== "")
		problem("StatefulSet/redis: not --save \"\" (no snapshots without a volume)");
	if (arg("--appendonly") !== "no")
		problem("StatefulSet/redis: not --appendonly no");
	if (args.includes("--requirepass"))
		problem("StatefulSet/redis: --requirepass on the command line (ps shows it)");
	// requirepass: redis.conf of the Secret, given as the config file.
	const mounts = c.volumeMounts || [];
	let conf = null;
	for (const v of pod.volumes || []) {
		const m = mounts.find((x) => x.name === v.name);
		if (!m || !v.secret)
			continue;
		const o = cfg.find((x) => x.kind === "Secret" && x.metadata &&
				   x.metadata.name === v.secret.secretName);
		if (!o) {
			problem(`StatefulSet/redis: Secret/${v.secret.secretName} is not made by ` +
				`config.sh or secret.sh`);
			continue;
		}
		const data = decoded(o);
		for (const it of v.secret.items || Object.keys(data).map((k) => ({ key: k, path: k }))) {
			if (`${m.mountPath}/${it.path}` === args[1] && data[it.key] !== undefined)
				conf = data[it.key];
		}
	}
	if (args[0] !== "redis-server" || conf === null) {
		problem("StatefulSet/redis: not redis-server with a configuration file of a Secret");
		return;
	}
	const rp = /^[ \t]*requirepass[ \t]+(\S+)/m.exec(conf);
	if (!rp || rp[1] !== password)
		problem("StatefulSet/redis: its requirepass is not kubevox.conf's [state] password");
	const auth = (c.env || []).find((e) => e.name === "REDISCLI_AUTH");
	const ref = auth && auth.valueFrom && auth.valueFrom.secretKeyRef;
	const o = ref && cfg.find((x) => x.kind === "Secret" && x.metadata.name === ref.name);
	if (!o || decoded(o)[ref.key] !== password)
		problem("StatefulSet/redis: the probes' REDISCLI_AUTH is not the password");
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
if (!haMode(manifests))
	checkRedis(manifests);
checkCluster(manifests, config);

if (problems.length) {
	for (const p of problems)
		console.log(`FAIL: ${p}`);
	process.exit(1);
}
console.log(`ok: ${manifests.length + config.length} objects valid ` +
	`(${manifests.concat(config).map(id).join(", ")})`);
