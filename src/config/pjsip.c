/*
 * pjsip.c - pjsip.conf with res_pjsip's meaning.
 *
 * Every non-template section is an object of its type= (the last type=
 * wins, as any single-valued option).  Options are applied in order, so a
 * section's own values override what it inherited.  Options we implement
 * are validated; options Asterisk has but we do not implement yet are
 * ignored with one warning each; anything else is an error, as res_pjsip
 * refuses unknown options.  References (auth=, aors=, transport=,
 * endpoint=, outbound_auth=) are resolved once every section is read, so order in the file
 * does not matter.
 *
 * A problem on a line inherited from a template is reported once, at the
 * template's line, naming the template.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <strings.h>

#include "config/cfgval.h"
#include "config/load.h"
#include "util/pl.h"
#include "util/vec.h"

#define FILE_NAME "pjsip.conf"

/* Options of Asterisk's res_pjsip that KubeVox does not implement yet. */
static const char *const endpoint_unsupported[] = {
	"100rel", "accept_multiple_sdp_answers", "accountcode", "acl",
	"aggregate_mwi", "allow_overlap", "allow_subscribe",
	"allow_unauthenticated_options", "asymmetric_rtp_codec",
	"bind_rtp_to_media_address", "bundle", "call_group", "callerid_privacy",
	"callerid_tag", "codec_prefs_incoming_answer", "codec_prefs_incoming_offer",
	"codec_prefs_outgoing_answer", "codec_prefs_outgoing_offer",
	"connected_line_method", "contact_acl", "contact_deny", "contact_permit",
	"contact_user", "cos_audio", "cos_video", "deny", "device_state_busy_at",
	"direct_media", "direct_media_glare_mitigation", "direct_media_method",
	"disable_direct_media_on_nat", "dtls_auto_generate_cert", "dtls_ca_file",
	"dtls_ca_path", "dtls_cert_file", "dtls_cipher", "dtls_fingerprint",
	"dtls_private_key", "dtls_rekey", "dtls_setup", "dtls_verify",
	"fax_detect", "fax_detect_timeout", "follow_early_media_fork", "force_avp",
	"force_rport", "g726_non_standard",
	"geoloc_incoming_call_profile", "geoloc_outgoing_call_profile",
	"ice_support", "identify_by", "ignore_183_without_sdp", "inband_progress",
	"incoming_call_offer_pref", "incoming_mwi_mailbox",
	"max_audio_streams", "max_video_streams", "media_address",
	"media_encryption", "media_encryption_optimistic",
	"media_use_received_transport", "message_context", "moh_passthrough",
	"named_call_group", "named_pickup_group", "notify_early_inuse_ringing",
	"one_touch_recording",
	"outgoing_call_offer_pref", "overlap_context", "permit", "pickup_group",
	"preferred_codec_only", "record_off_feature", "record_on_feature",
	"redirect_method", "rewrite_contact",
	"rpid_immediate", "rtcp_mux", "rtp_engine", "rtp_ipv6", "rtp_keepalive",
	"rtp_symmetric", "sdp_owner",
	"sdp_session", "security_mandatory", "security_negotiation", "send_aoc",
	"send_connected_line", "send_diversion", "send_history_info",
	"set_var", "srtp_tag_32", "stir_shaken", "stir_shaken_profile",
	"subscribe_context", "suppress_moh_on_sendonly",
	"suppress_q850_reason_headers", "t38_bind_udptl_to_media_address",
	"t38_udptl", "t38_udptl_ec", "t38_udptl_ipv6", "t38_udptl_maxdatagram",
	"t38_udptl_nat", "tenantid", "tone_zone", "tos_audio", "tos_video",
	"trust_connected_line", "use_avpf",
	"use_ptime", "user_eq_phone", "voicemail_extension", "webrtc", NULL
};

static const char *const transport_unsupported[] = {
	"allow_reload", "allow_wildcard_certs", "async_operations", "ca_list_file",
	"ca_list_path", "cert_file", "cipher", "cos", "domain", "method", "password",
	"priv_key_file", "require_client_cert", "symmetric_transport",
	"tcp_keepalive_enable", "tcp_keepalive_idle_time",
	"tcp_keepalive_interval_time", "tcp_keepalive_probe_count", "tos",
	"verify_client", "verify_server", "websocket_write_timeout", NULL
};

static const char *const auth_unsupported[] = {
	"nonce_lifetime", "oauth_clientid", "oauth_secret", "refresh_token",
	"supported_algorithms_uac", NULL
};

static const char *const aor_unsupported[] = {
	"authenticate_qualify", "qualify_2xx_only",
	"qualify_timeout", "remove_unavailable", "support_path",
	"voicemail_extension", NULL
};

static const char *const identify_unsupported[] = {
	"match_request_uri", NULL
};

static const char *const global_unsupported[] = {
	"all_codecs_on_empty_reinvite", "allow_sending_180_after_183",
	"contact_expiration_check_interval", "debug", "default_auth_algorithms_uac",
	"default_from_user", "default_outbound_endpoint",
	"default_voicemail_extension", "disable_multi_domain",
	"endpoint_identifier_order", "ignore_uri_user_options",
	"keep_alive_interval", "max_forwards", "max_initial_qualify_time",
	"mwi_disable_initial_unsolicited", "mwi_tps_queue_high",
	"mwi_tps_queue_low", "norefersub", "regcontext",
	"send_contact_status_on_update_registration",
	"taskprocessor_overload_trigger", "unidentified_request_count",
	"unidentified_request_period", "unidentified_request_prune_interval",
	"use_callerid_contact", NULL
};

/* Section types of res_pjsip and its modules that we do not implement. */
static const char *const types_unsupported[] = {
	"acl", "asterisk-publication", "contact", "domain_alias",
	"inbound-publication", "outbound-publish", "phoneprov",
	"resource_list", "system", NULL
};

static const char *const registration_unsupported[] = {
	"outbound_proxy", "security_mechanisms", "security_negotiation",
	"support_outbound", "support_path", NULL
};

static const struct {
	const char *name;
	enum cfg_codec codec;
} codecs[] = {
	{ "ulaw", CFG_CODEC_PCMU },
	{ "alaw", CFG_CODEC_PCMA },
	{ "g722", CFG_CODEC_G722 },
	{ "gsm", CFG_CODEC_GSM },
	{ "opus", CFG_CODEC_OPUS },
};
#define CODECS_N (sizeof(codecs) / sizeof(codecs[0]))

/* A util/vec.h vector that opt_nets() fills. */
struct net_vec {
	struct cfg_net *v;
	size_t n, cap;
};

/* One aors= item, kept with its line until references are resolved. */
struct ref {
	const struct astconf_var *var;
	char *name;
};

struct tmp_transport {
	struct cfg_transport t;
	const struct astconf_var *bind_var;
	bool bind_bad;               /* reported; do not compare it */
	struct net_vec nets;
	size_t order;
};

struct tmp_auth {
	struct cfg_auth a;
	const struct astconf_section *s;
	bool algs_set;
	bool md5;                    /* auth_type=md5 */
	size_t order;
};

struct tmp_aor {
	struct cfg_aor a;
	VEC(char *) contacts;
	size_t order;
};

struct tmp_endpoint {
	struct cfg_endpoint e;
	const struct astconf_var *auth_var;
	const struct astconf_var *oauth_var;
	const struct astconf_var *transport_var;
	VEC(struct ref) aors;
	size_t order;
};

/* A util/vec.h vector of host names (identify match=). */
struct host_vec {
	char **v;
	size_t n, cap;
};

struct tmp_identify {
	struct cfg_identify i;
	struct host_vec hosts;
	const struct astconf_section *s;
	const struct astconf_var *endpoint_var;
	const struct astconf_var *header_var;
	bool header_re;              /* match_header's value is a /regex/ */
	struct net_vec nets;
	size_t order;
};

struct tmp_registration {
	struct cfg_registration r;
	const struct astconf_section *s;
	const struct astconf_var *auth_var;
	const struct astconf_var *transport_var;
	const struct astconf_var *endpoint_var;
	const struct astconf_var *line_var;
	size_t order;
};

struct pjsip {
	struct cfg_load *ld;
	const struct astconf_section *global;
	VEC(struct tmp_transport) transports;
	VEC(struct tmp_auth) auths;
	VEC(struct tmp_aor) aors;
	VEC(struct tmp_endpoint) endpoints;
	VEC(struct tmp_identify) identifies;
	VEC(struct tmp_registration) registrations;
	bool global_algs_bad;
};

static void *oom(struct cfg_load *ld)
{
	ld->oom = true;
	return NULL;
}

/* A new zeroed element at the end of vec; NULL (and ld->oom) on failure. */
#define slot_new(ld, vec) \
	(vec_grow(vec) ? oom(ld) : \
	 memset(&(vec)->v[(vec)->n++], 0, sizeof(*(vec)->v)))

static bool in_list(const char *const *list, const char *name)
{
	for (; *list; list++) {
		if (!strcasecmp(*list, name))
			return true;
	}
	return false;
}

static bool is(const struct astconf_var *v, const char *name)
{
	return !strcasecmp(v->name, name);
}

/* "kind 'name': message" at file_idx:line. */
static void msg_at(struct cfg_load *ld, enum diag_severity sev, unsigned file_idx,
		   int line, const char *kind, const char *name, const char *fmt,
		   va_list ap) __attribute__((format(printf, 7, 0)));

static void msg_at(struct cfg_load *ld, enum diag_severity sev, unsigned file_idx,
		   int line, const char *kind, const char *name, const char *fmt,
		   va_list ap)
{
	char *prefix = NULL;

	if (asprintf(&prefix, "%s '%s': ", kind, name) < 0)
		prefix = NULL;
	diag_vadd(ld->diag, sev, load_file(ld, file_idx), line, prefix, fmt, ap);
	free(prefix);
}

static void var_err(struct cfg_load *ld, const struct astconf_var *v,
		    const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void var_warn(struct cfg_load *ld, const struct astconf_var *v,
		     const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void sec_err(struct cfg_load *ld, const struct astconf_section *s,
		    const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void var_err(struct cfg_load *ld, const struct astconf_var *v,
		    const char *kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_at(ld, DIAG_ERROR, v->file_idx, v->line, kind, v->origin, fmt, ap);
	va_end(ap);
}

static void var_warn(struct cfg_load *ld, const struct astconf_var *v,
		     const char *kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_at(ld, DIAG_WARNING, v->file_idx, v->line, kind, v->origin, fmt, ap);
	va_end(ap);
}

static void sec_err(struct cfg_load *ld, const struct astconf_section *s,
		    const char *kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_at(ld, DIAG_ERROR, s->file_idx, s->line, kind, s->name, fmt, ap);
	va_end(ap);
}

static void opt_other(struct cfg_load *ld, const struct astconf_var *v,
		      const char *kind, const char *const *unsupported)
{
	if (in_list(unsupported, v->name))
		var_warn(ld, v, kind, "option '%s' is not supported yet (ignored)", v->name);
	else
		var_err(ld, v, kind, "unknown option '%s' for type=%s", v->name, kind);
}

static bool opt_uint(struct cfg_load *ld, const struct astconf_var *v,
		     const char *kind, uint32_t min, uint32_t max, uint32_t *out)
{
	if (!cfgval_uint(v->value, min, max, out))
		return true;
	var_err(ld, v, kind, "invalid %s '%s' (expected a number from %u to %u)",
		v->name, v->value, min, max);
	return false;
}

static bool opt_bool(struct cfg_load *ld, const struct astconf_var *v,
		     const char *kind, bool *out)
{
	if (!cfgval_bool(v->value, out))
		return true;
	var_err(ld, v, kind, "invalid %s '%s' (expected yes or no)", v->name, v->value);
	return false;
}

/* A string option; empty means unset, as for Asterisk's string fields. */
static void opt_str(struct cfg_load *ld, const struct astconf_var *v, char **out)
{
	*out = *v->value ? load_strdup(ld, v->value) : NULL;
}

/* A mailbox or voicemail context name: it becomes a directory of the
 * spool (voicemail/CONTEXT/MAILBOX), so nothing that could leave it. */
static bool mailbox_name_ok(const char *p, size_t len)
{
	if (!len || len > 80 || (p[0] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || c == '_' || c == '-' || c == '.' ||
		      c == '+'))
			return false;
	}
	return true;
}

/* mailboxes = 1001[@context][, ...], as res_pjsip_mwi reads it: stored as
 * "MAILBOX@CONTEXT,..." with Asterisk's default context, NULL when empty. */
static char *mailboxes_parse(struct cfg_load *ld, const struct astconf_var *v,
			     const char *kind)
{
	const char *pos = v->value, *item;
	size_t len, n = 0, cap = strlen(v->value) * 2 + 16;
	char *out = load_alloc(ld, cap);

	if (!out)
		return NULL;
	out[0] = '\0';
	while (cfgval_list_next(&pos, &item, &len)) {
		const char *at = memchr(item, '@', len);
		size_t blen = at ? (size_t)(at - item) : len;
		const char *ctx = at ? at + 1 : "default";
		size_t clen = at ? len - blen - 1 : strlen("default");

		if (!mailbox_name_ok(item, blen) || !mailbox_name_ok(ctx, clen)) {
			var_err(ld, v, kind, "invalid mailbox '%.*s' (expected "
				"mailbox[@context], letters, digits, '_', '-', '.', '+')",
				(int)(len > 64 ? 64 : len), item);
			continue;
		}
		n += (size_t)snprintf(out + n, cap - n, "%s%.*s@%.*s", n ? "," : "",
				      (int)blen, item, (int)clen, ctx);
	}
	return n ? out : NULL;
}

static void ha1_hex(const EVP_MD *md, const struct cfg_auth *a, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	out[0] = '\0';
	if (!ctx)
		return;
	if (EVP_DigestInit_ex(ctx, md, NULL) &&
	    EVP_DigestUpdate(ctx, a->username, strlen(a->username)) &&
	    EVP_DigestUpdate(ctx, ":", 1) &&
	    EVP_DigestUpdate(ctx, a->realm, strlen(a->realm)) &&
	    EVP_DigestUpdate(ctx, ":", 1) &&
	    EVP_DigestUpdate(ctx, a->password, strlen(a->password)) &&
	    EVP_DigestFinal_ex(ctx, d, &n)) {
		for (unsigned int i = 0; i < n; i++)
			sprintf(out + 2 * i, "%02x", d[i]);
	}
	EVP_MD_CTX_free(ctx);
}

/* The H(A1) of each algorithm, once per load rather than per request. */
static void ha1_fill(struct cfg_auth *a)
{
	if (a->password && a->username && a->realm) {
		ha1_hex(EVP_md5(), a, a->ha1_md5);
		ha1_hex(EVP_sha256(), a, a->ha1_sha256);
		return;
	}
	if (a->password_digest)
		snprintf(a->ha1_md5, sizeof(a->ha1_md5), "%s", a->password_digest);
	if (a->password_digest_sha256)
		snprintf(a->ha1_sha256, sizeof(a->ha1_sha256), "%s", a->password_digest_sha256);
}

/* timers = no | yes | required | always (forced is Asterisk's old name
 * for always). */
static void timers_parse(struct cfg_load *ld, const struct astconf_var *v,
			 const char *kind, struct cfg_endpoint *e)
{
	bool b;

	if (!strcasecmp(v->value, "required"))
		e->timers = CFG_TIMERS_REQUIRED;
	else if (!strcasecmp(v->value, "always") || !strcasecmp(v->value, "forced"))
		e->timers = CFG_TIMERS_ALWAYS;
	else if (!cfgval_bool(v->value, &b))
		e->timers = b ? CFG_TIMERS_YES : CFG_TIMERS_NO;
	else
		var_err(ld, v, kind, "invalid timers '%s' (expected no, yes, required "
			"or always)", v->value);
}

static void dtmf_mode_parse(struct cfg_load *ld, const struct astconf_var *v,
			    const char *kind, struct cfg_endpoint *e)
{
	static const struct { const char *name; enum cfg_dtmf_mode mode; } modes[] = {
		{ "rfc4733", CFG_DTMF_RFC4733 }, { "info", CFG_DTMF_INFO },
		{ "auto", CFG_DTMF_AUTO }, { "auto_info", CFG_DTMF_AUTO_INFO },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcasecmp(v->value, modes[i].name)) {
			e->dtmf_mode = modes[i].mode;
			return;
		}
	}
	if (!strcasecmp(v->value, "inband"))
		var_warn(ld, v, kind, "dtmf_mode 'inband' is not supported (rfc4733 used)");
	else
		var_err(ld, v, kind, "invalid dtmf_mode '%s' (expected rfc4733, info, "
			"auto or auto_info)", v->value);
}

static void opt_nets(struct cfg_load *ld, const struct astconf_var *v,
		     const char *kind, struct net_vec *nets)
{
	const char *pos = v->value, *item;
	size_t len;

	while (cfgval_list_next(&pos, &item, &len)) {
		char buf[128];
		struct cfg_net net, *slot;
		int err = EINVAL;

		if (len < sizeof(buf)) {
			memcpy(buf, item, len);
			buf[len] = '\0';
			err = cfgval_net(buf, &net);
		}
		if (err) {
			var_err(ld, v, kind, "invalid %s '%.*s' (expected an IP address or "
				"network such as 192.168.0.0/16; hostnames are not supported)",
				v->name, (int)(len > 64 ? 64 : len), item);
			continue;
		}
		slot = slot_new(ld, nets);
		if (slot)
			*slot = net;
	}
}

/* A DNS name as identify's match= takes it: labels of letters, digits and
 * '-', at least one letter (so that a mistyped address is not taken for a
 * name), at most 253 characters. */
static bool host_name_ok(const char *s, size_t len)
{
	bool letter = false;
	size_t label = 0;

	if (!len || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (!label)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
		letter |= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	}
	return letter;
}

/* identify match=: addresses, networks (CIDR or address/mask) and host
 * names, as res_pjsip_endpoint_identifier_ip reads them. */
static void match_parse(struct cfg_load *ld, const struct astconf_var *v,
			struct tmp_identify *ti)
{
	const char *pos = v->value, *item;
	size_t len;

	while (cfgval_list_next(&pos, &item, &len)) {
		char buf[128];
		struct cfg_net net, *slot;
		char **hs;

		if (len < sizeof(buf)) {
			memcpy(buf, item, len);
			buf[len] = '\0';
			if (!cfgval_net(buf, &net)) {
				slot = slot_new(ld, &ti->nets);
				if (slot)
					*slot = net;
				continue;
			}
		}
		if (!memchr(item, '/', len) && host_name_ok(item, len)) {
			hs = slot_new(ld, &ti->hosts);
			if (hs)
				*hs = load_strndup(ld, item, len);
			continue;
		}
		var_err(ld, v, "identify", "invalid match '%.*s' (expected an IP address, "
			"a network such as 192.168.0.0/16, or a host name)",
			(int)(len > 64 ? 64 : len), item);
	}
}

/* "md5, sha-256" into algs; false after reporting a problem. */
static bool algs_parse(struct cfg_load *ld, const struct astconf_var *v,
		       const char *kind, enum cfg_digest_alg *algs, size_t *algs_n)
{
	const char *pos = v->value, *item;
	enum cfg_digest_alg out[CFG_MAX_ALGS];
	size_t n = 0, len;
	bool ok = true;

	while (cfgval_list_next(&pos, &item, &len)) {
		enum cfg_digest_alg alg;
		size_t i;

		if (len == 3 && !strncasecmp(item, "md5", 3)) {
			alg = CFG_ALG_MD5;
		} else if (len == 7 && !strncasecmp(item, "sha-256", 7)) {
			alg = CFG_ALG_SHA256;
		} else if (len == 11 && !strncasecmp(item, "sha-512-256", 11)) {
			var_warn(ld, v, kind, "algorithm '%.*s' is not supported (ignored)",
				 (int)len, item);
			continue;
		} else {
			var_err(ld, v, kind, "unknown algorithm '%.*s' in %s (expected md5 "
				"or sha-256)", (int)(len > 64 ? 64 : len), item, v->name);
			ok = false;
			continue;
		}
		for (i = 0; i < n && out[i] != alg; i++)
			;
		if (i == n && n < CFG_MAX_ALGS)
			out[n++] = alg;
	}
	if (!ok)
		return false;
	if (n == 0) {
		var_err(ld, v, kind, "%s has no supported algorithm", v->name);
		return false;
	}
	memcpy(algs, out, n * sizeof(out[0]));
	*algs_n = n;
	return true;
}

static void global_parse(struct pjsip *pj, const struct astconf_section *s)
{
	struct cfg_load *ld = pj->ld;
	struct kv_config *cfg = ld->cfg;
	const char *kind = "global";

	if (pj->global) {
		sec_err(ld, s, kind, "a second type=global section (the first is at %s:%d)",
			load_file(ld, pj->global->file_idx), pj->global->line);
		return;
	}
	pj->global = s;
	for (size_t i = 0; i < s->vars_n; i++) {
		const struct astconf_var *v = &s->vars[i];

		if (is(v, "type"))
			continue;
		if (is(v, "default_realm")) {
			if (*v->value)
				cfg->default_realm = load_strdup(ld, v->value);
			else
				var_err(ld, v, kind, "default_realm is empty");
		} else if (is(v, "user_agent")) {
			if (*v->value)
				cfg->user_agent = load_strdup(ld, v->value);
			else
				var_err(ld, v, kind, "user_agent is empty");
		} else if (is(v, "default_auth_algorithms_uas")) {
			if (!algs_parse(ld, v, kind, cfg->default_algs, &cfg->default_algs_n))
				pj->global_algs_bad = true;
		} else {
			opt_other(ld, v, kind, global_unsupported);
		}
	}
}

static void transport_parse(struct pjsip *pj, const struct astconf_section *s)
{
	static const char *const later[] = { "tls", "ws", "wss", "flow", NULL };
	struct cfg_load *ld = pj->ld;
	const char *kind = "transport";
	struct tmp_transport *tt = slot_new(ld, &pj->transports);
	struct cfg_transport *t;
	struct sockaddr_in *sin;

	if (!tt)
		return;
	tt->order = pj->transports.n - 1;
	t = &tt->t;
	t->name = load_strdup(ld, s->name);
	t->file = load_file(ld, s->file_idx);
	t->line = s->line;
	t->proto = CFG_PROTO_UDP;
	sin = (struct sockaddr_in *)&t->bind;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(5060);

	for (size_t i = 0; i < s->vars_n; i++) {
		const struct astconf_var *v = &s->vars[i];
		uint32_t port;

		if (is(v, "type"))
			continue;
		if (is(v, "protocol")) {
			if (!strcasecmp(v->value, "udp"))
				t->proto = CFG_PROTO_UDP;
			else if (!strcasecmp(v->value, "tcp"))
				t->proto = CFG_PROTO_TCP;
			else if (in_list(later, v->value))
				var_err(ld, v, kind, "protocol %s is not supported", v->value);
			else
				var_err(ld, v, kind, "invalid protocol '%s' (expected udp or tcp)",
					v->value);
		} else if (is(v, "bind")) {
			switch (cfgval_addr(v->value, 5060, &t->bind)) {
			case CFGVAL_ADDR_OK:
				tt->bind_var = v;
				break;
			case CFGVAL_ADDR_PORT:
				tt->bind_bad = true;
				var_err(ld, v, kind, "invalid port in bind '%s' (expected 1 to 65535)",
					v->value);
				break;
			case CFGVAL_ADDR_BAD:
				tt->bind_bad = true;
				var_err(ld, v, kind, "invalid bind address '%s' (expected an IP "
					"address, optionally with :port)", v->value);
				break;
			}
		} else if (is(v, "external_signaling_address")) {
			opt_str(ld, v, &t->external_signaling_address);
		} else if (is(v, "external_signaling_port")) {
			if (opt_uint(ld, v, kind, 0, 65535, &port))
				t->external_signaling_port = (uint16_t)port;
		} else if (is(v, "external_media_address")) {
			opt_str(ld, v, &t->external_media_address);
		} else if (is(v, "local_net")) {
			opt_nets(ld, v, kind, &tt->nets);
		} else {
			opt_other(ld, v, kind, transport_unsupported);
		}
	}
}

/* password_digest: "MD5:<hex>", "SHA-256:<hex>" or, as md5_cred, "<hex>". */
static void digest_parse(struct cfg_load *ld, const struct astconf_var *v,
			 const char *kind, struct cfg_auth *a)
{
	const char *val = v->value, *colon = strchr(val, ':');
	enum cfg_digest_alg alg = CFG_ALG_MD5;
	size_t hexlen;
	char *hex;

	if (colon) {
		size_t n = (size_t)(colon - val);

		if (n == 3 && !strncasecmp(val, "md5", 3)) {
			alg = CFG_ALG_MD5;
		} else if (n == 7 && !strncasecmp(val, "sha-256", 7)) {
			alg = CFG_ALG_SHA256;
		} else if (n == 11 && !strncasecmp(val, "sha-512-256", 11)) {
			var_warn(ld, v, kind, "algorithm 'SHA-512-256' is not supported (ignored)");
			return;
		} else {
			var_err(ld, v, kind, "unknown algorithm '%.*s' in %s (expected MD5 or "
				"SHA-256)", (int)(n > 64 ? 64 : n), val, v->name);
			return;
		}
		val = colon + 1;
	}
	hexlen = alg == CFG_ALG_MD5 ? 32 : 64;
	/* The value is credential-equivalent: never echo it. */
	if (!cfgval_is_hex(val, hexlen)) {
		if (colon || is(v, "md5_cred"))
			var_err(ld, v, kind, "invalid %s (expected %zu hex digits%s)", v->name,
				hexlen, colon ? " after the algorithm" : "");
		else
			var_err(ld, v, kind, "invalid %s (expected MD5:<32 hex digits>, "
				"SHA-256:<64 hex digits> or 32 hex digits)", v->name);
		return;
	}
	hex = load_strdup(ld, val);
	if (!hex)
		return;
	for (char *p = hex; *p; p++) {
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	}
	if (alg == CFG_ALG_MD5)
		a->password_digest = hex;
	else
		a->password_digest_sha256 = hex;
}

static void auth_parse(struct pjsip *pj, const struct astconf_section *s)
{
	struct cfg_load *ld = pj->ld;
	const char *kind = "auth";
	struct tmp_auth *ta = slot_new(ld, &pj->auths);
	struct cfg_auth *a;

	if (!ta)
		return;
	ta->order = pj->auths.n - 1;
	ta->s = s;
	a = &ta->a;
	a->name = load_strdup(ld, s->name);
	a->file = load_file(ld, s->file_idx);
	a->line = s->line;

	for (size_t i = 0; i < s->vars_n; i++) {
		const struct astconf_var *v = &s->vars[i];

		if (is(v, "type"))
			continue;
		if (is(v, "auth_type")) {
			if (!strcasecmp(v->value, "userpass") || !strcasecmp(v->value, "digest"))
				ta->md5 = false;
			else if (!strcasecmp(v->value, "md5"))
				ta->md5 = true;
			else if (!strcasecmp(v->value, "google_oauth"))
				var_err(ld, v, kind, "auth_type google_oauth is not supported");
			else
				var_err(ld, v, kind, "invalid auth_type '%s' (expected userpass, "
					"digest or md5)", v->value);
		} else if (is(v, "username")) {
			opt_str(ld, v, &a->username);
		} else if (is(v, "password")) {
			opt_str(ld, v, &a->password);
		} else if (is(v, "password_digest") || is(v, "md5_cred")) {
			if (*v->value)
				digest_parse(ld, v, kind, a);
		} else if (is(v, "realm")) {
			opt_str(ld, v, &a->realm);
		} else if (is(v, "supported_algorithms_uas")) {
			if (algs_parse(ld, v, kind, a->algs, &a->algs_n))
				ta->algs_set = true;
		} else {
			opt_other(ld, v, kind, auth_unsupported);
		}
	}

	/* auth_type=md5 authenticates with the stored hash only. */
	if (ta->md5)
		a->password = NULL;
	if (!a->username)
		sec_err(ld, s, kind, "username is required");
	if (ta->md5 && !a->password_digest && !a->password_digest_sha256)
		sec_err(ld, s, kind, "auth_type=md5 needs md5_cred or password_digest");
	else if (!ta->md5 && !a->password && !a->password_digest &&
		 !a->password_digest_sha256)
		sec_err(ld, s, kind, "a password or password_digest is required");
}

static void aor_parse(struct pjsip *pj, const struct astconf_section *s)
{
	struct cfg_load *ld = pj->ld;
	const char *kind = "aor";
	struct tmp_aor *ta = slot_new(ld, &pj->aors);
	struct cfg_aor *a;

	if (!ta)
		return;
	ta->order = pj->aors.n - 1;
	a = &ta->a;
	a->name = load_strdup(ld, s->name);
	a->file = load_file(ld, s->file_idx);
	a->line = s->line;
	a->max_contacts = 0;
	a->remove_existing = false;
	a->minimum_expiration = 60;
	a->maximum_expiration = 7200;
	a->default_expiration = 3600;
	a->qualify_frequency = 0;

	for (size_t i = 0; i < s->vars_n; i++) {
		const struct astconf_var *v = &s->vars[i];
		uint32_t n;

		if (is(v, "type"))
			continue;
		if (is(v, "max_contacts")) {
			if (opt_uint(ld, v, kind, 0, 65535, &n))
				a->max_contacts = n;
		} else if (is(v, "remove_existing")) {
			opt_bool(ld, v, kind, &a->remove_existing);
		} else if (is(v, "minimum_expiration")) {
			opt_uint(ld, v, kind, 0, 0x7fffffff, &a->minimum_expiration);
		} else if (is(v, "maximum_expiration")) {
			opt_uint(ld, v, kind, 0, 0x7fffffff, &a->maximum_expiration);
		} else if (is(v, "default_expiration")) {
			opt_uint(ld, v, kind, 0, 0x7fffffff, &a->default_expiration);
		} else if (is(v, "qualify_frequency")) {
			if (opt_uint(ld, v, kind, 0, 86400, &a->qualify_frequency) &&
			    a->qualify_frequency)
				var_warn(ld, v, kind, "option 'qualify_frequency' is not "
					 "supported yet (contacts are not qualified)");
		} else if (is(v, "contact")) {
			const char *pos = v->value, *item;
			size_t len;

			while (cfgval_list_next(&pos, &item, &len)) {
				char **slot;

				if (!((len > 4 && !strncasecmp(item, "sip:", 4)) ||
				      (len > 5 && !strncasecmp(item, "sips:", 5)))) {
					var_err(ld, v, kind, "invalid contact '%.*s' (expected a sip: "
						"or sips: URI)", (int)(len > 64 ? 64 : len), item);
					continue;
				}
				slot = slot_new(ld, &ta->contacts);
				if (slot)
					*slot = load_strndup(ld, item, len);
			}
		} else if (is(v, "mailboxes")) {
			a->mailboxes = mailboxes_parse(ld, v, kind);
		} else {
			opt_other(ld, v, kind, aor_unsupported);
		}
	}

	if (a->minimum_expiration > a->maximum_expiration)
		sec_err(ld, s, kind, "minimum_expiration (%u) is greater than "
			"maximum_expiration (%u)", a->minimum_expiration, a->maximum_expiration);
	else if (a->default_expiration < a->minimum_expiration ||
		 a->default_expiration > a->maximum_expiration)
		sec_err(ld, s, kind, "default_expiration (%u) must be between "
			"minimum_expiration (%u) and maximum_expiration (%u)",
			a->default_expiration, a->minimum_expiration, a->maximum_expiration);
}

static void codec_remove(struct cfg_endpoint *e, enum cfg_codec c)
{
	size_t j = 0;

	for (size_t i = 0; i < e->allow_n; i++) {
		if (e->allow[i] != c)
			e->allow[j++] = e->allow[i];
	}
	e->allow_n = j;
}

static void codec_add(struct cfg_endpoint *e, enum cfg_codec c)
{
	for (size_t i = 0; i < e->allow_n; i++) {
		if (e->allow[i] == c)
			return;
	}
	if (e->allow_n < CFG_CODEC_COUNT)
		e->allow[e->allow_n++] = c;
}

/* allow= / disallow=: codec lists applied in order; "all"; "!codec". */
static void codecs_apply(struct cfg_load *ld, const struct astconf_var *v,
			 const char *kind, struct cfg_endpoint *e, bool allow)
{
	const char *pos = v->value, *item;
	size_t len;

	while (cfgval_list_next(&pos, &item, &len)) {
		bool add = allow;
		const char *colon;
		size_t i, n;

		if (*item == '!') {
			add = !add;
			item++;
			len--;
		}
		/* "ulaw:20" sets the packetisation, which we do not do. */
		colon = memchr(item, ':', len);
		n = colon ? (size_t)(colon - item) : len;
		if (n == 3 && !strncasecmp(item, "all", 3)) {
			if (add) {
				for (i = 0; i < CODECS_N; i++)
					codec_add(e, codecs[i].codec);
			} else {
				e->allow_n = 0;
			}
			continue;
		}
		for (i = 0; i < CODECS_N; i++) {
			if (strlen(codecs[i].name) == n && !strncasecmp(item, codecs[i].name, n))
				break;
		}
		if (i == CODECS_N) {
			var_warn(ld, v, kind, "codec '%.*s' is not supported (ignored)",
				 (int)(n > 64 ? 64 : n), item);
			continue;
		}
		if (colon && add)
			var_warn(ld, v, kind, "packetisation '%.*s' of codec '%s' is not "
				 "supported yet (ignored)", (int)(len - n > 16 ? 16 : len - n),
				 colon, codecs[i].name);
		if (add)
			codec_add(e, codecs[i].codec);
		else
			codec_remove(e, codecs[i].codec);
	}
}

static bool reg_uri_ok(const char *v, const char **why);

/* A URI's user part as we print it between "sip:" and "@". */
static bool user_ok(const char *v)
{
	for (const char *p = v; *p; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    strchr("@:;<>\"?,", *p))
			return false;
	}
	return true;
}

/* A host name, an IPv4 address or a bracketed IPv6 address. */
static bool host_ok(const char *v)
{
	size_t n = strlen(v);

	if (*v == '[')
		return n > 2 && v[n - 1] == ']' && strspn(v + 1, "0123456789abcdefABCDEF:.") == n - 2;
	return strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n;
}

static void endpoint_parse(struct pjsip *pj, const struct astconf_section *s)
{
	struct cfg_load *ld = pj->ld;
	const char *kind = "endpoint";
	struct tmp_endpoint *te = slot_new(ld, &pj->endpoints);
	struct cfg_endpoint *e;

	if (!te)
		return;
	te->order = pj->endpoints.n - 1;
	e = &te->e;
	e->name = load_strdup(ld, s->name);
	e->file = load_file(ld, s->file_idx);
	e->line = s->line;
	e->timers = CFG_TIMERS_YES;
	e->timers_min_se = 90;
	e->timers_sess_expires = 1800;
	e->allow_transfer = true;
	e->refer_blind_progress = true;

	for (size_t i = 0; i < s->vars_n; i++) {
		const struct astconf_var *v = &s->vars[i];

		if (is(v, "type"))
			continue;
		if (is(v, "context")) {
			opt_str(ld, v, &e->context);
		} else if (is(v, "allow")) {
			codecs_apply(ld, v, kind, e, true);
		} else if (is(v, "disallow")) {
			codecs_apply(ld, v, kind, e, false);
		} else if (is(v, "auth")) {
			te->auth_var = v;
		} else if (is(v, "aors")) {
			const char *pos = v->value, *item;
			size_t len;

			while (cfgval_list_next(&pos, &item, &len)) {
				struct ref *r = slot_new(ld, &te->aors);

				if (!r)
					break;
				r->var = v;
				r->name = load_strndup(ld, item, len);
			}
		} else if (is(v, "transport")) {
			te->transport_var = *v->value ? v : NULL;
		} else if (is(v, "callerid")) {
			opt_str(ld, v, &e->callerid);
		} else if (is(v, "language")) {
			opt_str(ld, v, &e->language);
		} else if (is(v, "moh_suggest")) {
			opt_str(ld, v, &e->moh_suggest);
		} else if (is(v, "dtmf_mode")) {
			dtmf_mode_parse(ld, v, kind, e);
		} else if (is(v, "rtp_timeout")) {
			opt_uint(ld, v, kind, 0, 86400, &e->rtp_timeout);
		} else if (is(v, "rtp_timeout_hold")) {
			opt_uint(ld, v, kind, 0, 86400, &e->rtp_timeout_hold);
		} else if (is(v, "timers")) {
			timers_parse(ld, v, kind, e);
		} else if (is(v, "trust_id_inbound")) {
			opt_bool(ld, v, kind, &e->trust_id_inbound);
		} else if (is(v, "timers_min_se")) {
			opt_uint(ld, v, kind, 90, 86400, &e->timers_min_se);
		} else if (is(v, "timers_sess_expires")) {
			opt_uint(ld, v, kind, 90, 86400, &e->timers_sess_expires);
		} else if (is(v, "outbound_auth")) {
			te->oauth_var = *v->value ? v : NULL;
		} else if (is(v, "from_user")) {
			if (*v->value && !user_ok(v->value))
				var_err(ld, v, kind, "invalid from_user '%.64s' (a user part, "
					"without '@', spaces or quotes)", v->value);
			else
				opt_str(ld, v, &e->from_user);
		} else if (is(v, "from_domain")) {
			if (*v->value && !host_ok(v->value))
				var_err(ld, v, kind, "invalid from_domain '%.64s' (a host name "
					"or address)", v->value);
			else
				opt_str(ld, v, &e->from_domain);
		} else if (is(v, "outbound_proxy")) {
			const char *why;

			if (*v->value && !reg_uri_ok(v->value, &why))
				var_err(ld, v, kind, "invalid outbound_proxy '%.64s' (%s)",
					v->value, why);
			else
				opt_str(ld, v, &e->outbound_proxy);
		} else if (is(v, "send_pai")) {
			opt_bool(ld, v, kind, &e->send_pai);
		} else if (is(v, "send_rpid")) {
			opt_bool(ld, v, kind, &e->send_rpid);
		} else if (is(v, "trust_id_outbound")) {
			opt_bool(ld, v, kind, &e->trust_id_outbound);
		} else if (is(v, "mailboxes")) {
			e->mailboxes = mailboxes_parse(ld, v, kind);
		} else if (is(v, "sub_min_expiry")) {
			opt_uint(ld, v, kind, 0, 86400, &e->sub_min_expiry);
		} else if (is(v, "mwi_subscribe_replaces_unsolicited")) {
			opt_bool(ld, v, kind, &e->mwi_subscribe_replaces_unsolicited);
		} else if (is(v, "mwi_from_user")) {
			if (*v->value && !user_ok(v->value))
				var_err(ld, v, kind, "invalid mwi_from_user '%.64s' (a user "
					"part, without '@', spaces or quotes)", v->value);
			else
				opt_str(ld, v, &e->mwi_from_user);
		} else if (is(v, "allow_transfer")) {
			opt_bool(ld, v, kind, &e->allow_transfer);
		} else if (is(v, "transfer_context")) {
			opt_str(ld, v, &e->transfer_context);
		} else if (is(v, "refer_blind_progress")) {
			opt_bool(ld, v, kind, &e->refer_blind_progress);
		} else {
			opt_other(ld, v, kind, endpoint_unsupported);
		}
	}
	if (!e->context)
		e->context = load_strdup(ld, "default");
	if (!e->language)
		e->language = load_strdup(ld, "en");
	if (!e->moh_suggest)
		e->moh_suggest = load_strdup(ld, "default");
}

/*
 * match_header = Name: value, as Asterisk 16+ reads it: split at the first
 * ':', the value trimmed; a value between slashes (longer than "//") is a
 * POSIX extended regex, compiled when the section is kept.  An empty
 * value unsets it, as for Asterisk's string options.
 */
static void match_header_parse(struct cfg_load *ld, const struct astconf_var *v,
			       struct tmp_identify *ti)
{
	const char *colon = strchr(v->value, ':');
	struct pl name, value;

	ti->header_var = NULL;
	ti->header_re = false;
	ti->i.match_header_name = ti->i.match_header_value = NULL;
	if (!*v->value)
		return;
	if (!colon) {
		var_err(ld, v, "identify", "invalid match_header '%.64s' (expected "
			"'Header: value')", v->value);
		return;
	}
	name = (struct pl){ v->value, (size_t)(colon - v->value) };
	value = pl_from_str(colon + 1);
	pl_trim(&name);
	pl_trim(&value);
	if (!name.l) {
		var_err(ld, v, "identify", "invalid match_header '%.64s' (no header "
			"name before ':')", v->value);
		return;
	}
	ti->header_var = v;
	ti->i.match_header_name = load_strndup(ld, name.p, name.l);
	if (value.l > 2 && value.p[0] == '/' && value.p[value.l - 1] == '/') {
		value.p++;
		value.l -= 2;
		ti->header_re = true;    /* compiled once the section is kept */
	} else {
		ti->header_re = false;
	}
	ti->i.match_header_value = load_strndup(ld, value.p, value.l);
}

static void identify_parse(struct pjsip *pj, const struct astconf_section *s)
{
	struct cfg_load *ld = pj->ld;
	const char *kind = "identify";
	struct tmp_identify *ti = slot_new(ld, &pj->identifies);

	if (!ti)
		return;
	ti->order = pj->identifies.n - 1;
	ti->s = s;
	ti->i.name = load_strdup(ld, s->name);
	ti->i.file = load_file(ld, s->file_idx);
	ti->i.line = s->line;
	ti->i.srv_lookups = true;

	for (size_t i = 0; i < s->vars_n; i++) {
		const struct astconf_var *v = &s->vars[i];

		if (is(v, "type"))
			continue;
		if (is(v, "endpoint"))
			ti->endpoint_var = *v->value ? v : NULL;
		else if (is(v, "match"))
			match_parse(ld, v, ti);
		else if (is(v, "match_header"))
			match_header_parse(ld, v, ti);
		else if (is(v, "srv_lookups"))
			opt_bool(ld, v, kind, &ti->i.srv_lookups);
		else
			opt_other(ld, v, kind, identify_unsupported);
	}
	if (!ti->endpoint_var)
		sec_err(ld, s, kind, "endpoint is required");
	if (!ti->nets.n && !ti->hosts.n && !astconf_var(s, "match") && !ti->header_var)
		sec_err(ld, s, kind, "match or match_header is required");
}

/*
 * A SIP URI as a registration names it: "sip:[user@]host[:port][;params]",
 * host a name, an IPv4 address or a bracketed IPv6 one.  The SIP layer
 * reads it again when it sends; this catches what would only fail there.
 */
static bool reg_uri_ok(const char *v, const char **why)
{
	const char *p, *host, *end;

	if (strncasecmp(v, "sip:", 4)) {
		*why = strncasecmp(v, "sips:", 5) ? "expected a sip: URI"
			: "sips: needs TLS, which is not supported";
		return false;
	}
	for (p = v; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == '"') {
			*why = "a URI has no spaces, quotes or angle brackets";
			return false;
		}
	}
	host = v + 4;
	end = host + strcspn(host, ";?");
	p = memchr(host, '@', (size_t)(end - host));
	if (p)
		host = p + 1;
	if (*host == '[') {
		p = memchr(host, ']', (size_t)(end - host));
		if (!p || p == host + 1) {
			*why = "an IPv6 host is written [address]";
			return false;
		}
		p++;
	} else {
		p = host + strcspn(host, ":;?");
		if (p > end)
			p = end;
		if (p == host) {
			*why = "no host";
			return false;
		}
	}
	if (p < end && *p == ':') {
		char *num_end;
		unsigned long port = strtoul(p + 1, &num_end, 10);

		if (num_end == p + 1 || num_end != end || port < 1 || port > 65535) {
			*why = "invalid port (expected 1 to 65535)";
			return false;
		}
	} else if (p != end) {
		*why = "unexpected characters after the host";
		return false;
	}
	return true;
}

static void registration_parse(struct pjsip *pj, const struct astconf_section *s)
{
	struct cfg_load *ld = pj->ld;
	const char *kind = "registration";
	struct tmp_registration *tr = slot_new(ld, &pj->registrations);
	struct cfg_registration *r;
	const char *why;

	if (!tr)
		return;
	tr->order = pj->registrations.n - 1;
	tr->s = s;
	r = &tr->r;
	r->name = load_strdup(ld, s->name);
	r->file = load_file(ld, s->file_idx);
	r->line_no = s->line;
	r->expiration = 3600;
	r->retry_interval = 60;
	r->max_retries = 10;
	r->max_random_initial_delay = 10;
	r->auth_rejection_permanent = true;

	for (size_t i = 0; i < s->vars_n; i++) {
		const struct astconf_var *v = &s->vars[i];

		if (is(v, "type"))
			continue;
		if (is(v, "server_uri") || is(v, "client_uri")) {
			char **out = is(v, "server_uri") ? &r->server_uri : &r->client_uri;

			if (!*v->value) {
				*out = NULL;
			} else if (!reg_uri_ok(v->value, &why)) {
				var_err(ld, v, kind, "invalid %s '%.64s': %s", v->name, v->value, why);
				*out = NULL;
			} else {
				*out = load_strdup(ld, v->value);
			}
		} else if (is(v, "contact_user")) {
			if (strpbrk(v->value, "@:;<>\" \t"))
				var_err(ld, v, kind, "invalid contact_user '%.64s' (a user part, "
					"without @, :, ; or spaces)", v->value);
			else
				opt_str(ld, v, &r->contact_user);
		} else if (is(v, "contact_header_params")) {
			if (strpbrk(v->value, "<>\r\n"))
				var_err(ld, v, kind, "invalid contact_header_params '%.64s'",
					v->value);
			else
				/* Written without the ';' (a comment in this grammar). */
				opt_str(ld, v, &r->contact_header_params);
			if (r->contact_header_params && *r->contact_header_params == ';')
				r->contact_header_params++;
		} else if (is(v, "outbound_auth")) {
			tr->auth_var = *v->value ? v : NULL;
		} else if (is(v, "transport")) {
			tr->transport_var = *v->value ? v : NULL;
		} else if (is(v, "endpoint")) {
			tr->endpoint_var = *v->value ? v : NULL;
		} else if (is(v, "line")) {
			if (opt_bool(ld, v, kind, &r->line))
				tr->line_var = v;
		} else if (is(v, "expiration")) {
			opt_uint(ld, v, kind, 1, 0x7fffffff, &r->expiration);
		} else if (is(v, "retry_interval")) {
			opt_uint(ld, v, kind, 1, 0x7fffffff, &r->retry_interval);
		} else if (is(v, "forbidden_retry_interval")) {
			opt_uint(ld, v, kind, 0, 0x7fffffff, &r->forbidden_retry_interval);
		} else if (is(v, "fatal_retry_interval")) {
			opt_uint(ld, v, kind, 0, 0x7fffffff, &r->fatal_retry_interval);
		} else if (is(v, "max_retries")) {
			opt_uint(ld, v, kind, 0, 0x7fffffff, &r->max_retries);
		} else if (is(v, "max_random_initial_delay")) {
			opt_uint(ld, v, kind, 0, 86400, &r->max_random_initial_delay);
		} else if (is(v, "auth_rejection_permanent")) {
			opt_bool(ld, v, kind, &r->auth_rejection_permanent);
		} else {
			opt_other(ld, v, kind, registration_unsupported);
		}
	}
	if (!r->server_uri && !astconf_var(s, "server_uri"))
		sec_err(ld, s, kind, "server_uri is required");
	if (!r->client_uri && !astconf_var(s, "client_uri"))
		sec_err(ld, s, kind, "client_uri is required");
	if (!r->contact_user)
		r->contact_user = load_strdup(ld, "s");
}

static void section_parse(struct pjsip *pj, const struct astconf_section *s)
{
	struct cfg_load *ld = pj->ld;
	const struct astconf_var *tv = astconf_var(s, "type");
	const char *type;

	if (!tv) {
		load_msg(ld, DIAG_ERROR, load_file(ld, s->file_idx), s->line,
			 "section '%s': no type= option", s->name);
		return;
	}
	type = tv->value;
	if (!strcmp(type, "endpoint"))
		endpoint_parse(pj, s);
	else if (!strcmp(type, "auth"))
		auth_parse(pj, s);
	else if (!strcmp(type, "aor"))
		aor_parse(pj, s);
	else if (!strcmp(type, "transport"))
		transport_parse(pj, s);
	else if (!strcmp(type, "identify"))
		identify_parse(pj, s);
	else if (!strcmp(type, "global"))
		global_parse(pj, s);
	else if (!strcmp(type, "registration"))
		registration_parse(pj, s);
	else if (in_list(types_unsupported, type))
		load_msg(ld, DIAG_WARNING, load_file(ld, s->file_idx), s->line,
			 "type=%s is not supported yet; section ignored", type);
	else
		load_msg(ld, DIAG_ERROR, load_file(ld, tv->file_idx), tv->line,
			 "section '%s': unknown type '%s'", s->name, type);
}

/* The sorts below put equal names in file order, so the first wins. */
static int cmp_auth(const void *a, const void *b)
{
	const struct tmp_auth *x = a, *y = b;
	int c = strcmp(x->a.name, y->a.name);

	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int cmp_aor(const void *a, const void *b)
{
	const struct tmp_aor *x = a, *y = b;
	int c = strcmp(x->a.name, y->a.name);

	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int cmp_endpoint(const void *a, const void *b)
{
	const struct tmp_endpoint *x = a, *y = b;
	int c = strcmp(x->e.name, y->e.name);

	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static void duplicate(struct cfg_load *ld, const char *kind, const char *name,
		      const char *file, int line, const char *ffile, int fline)
{
	load_msg(ld, DIAG_ERROR, file, line, "duplicate %s '%s' (first defined at %s:%d)",
		 kind, name, ffile, fline);
}

static void transports_finish(struct pjsip *pj)
{
	struct cfg_load *ld = pj->ld;
	struct kv_config *cfg = ld->cfg;
	size_t n = 0, count = pj->transports.n ? pj->transports.n : 1;
	bool *bad;

	cfg->transports = load_alloc(ld, count * sizeof(*cfg->transports));
	/* An unparsable bind= was reported: comparing it would only add
	 * a misleading "already bound". */
	bad = calloc(count, sizeof(*bad));
	if (!cfg->transports || !bad) {
		ld->oom = true;
		free(bad);
		return;
	}
	for (size_t i = 0; i < pj->transports.n; i++) {
		struct tmp_transport *tt = &pj->transports.v[i];
		struct cfg_transport *t = &tt->t;
		bool dup = false;

		for (size_t j = 0; j < n && !dup; j++) {
			const struct cfg_transport *o = &cfg->transports[j];
			char addr[80];

			if (!strcmp(o->name, t->name)) {
				duplicate(ld, "transport", t->name, t->file, t->line, o->file, o->line);
				dup = true;
			} else if (!tt->bind_bad && !bad[j] && o->proto == t->proto &&
				   !memcmp(&o->bind, &t->bind, sizeof(t->bind))) {
				cfgval_addr_print(&t->bind, addr, sizeof(addr));
				load_msg(ld, DIAG_ERROR, tt->bind_var ? load_file(ld, tt->bind_var->file_idx)
					 : t->file, tt->bind_var ? tt->bind_var->line : t->line,
					 "transport '%s': %s %s is already bound by transport '%s'",
					 t->name, t->proto == CFG_PROTO_UDP ? "udp" : "tcp", addr, o->name);
				dup = true;
			}
		}
		if (dup)
			continue;
		if (tt->nets.n) {
			t->local_net = load_alloc(ld, tt->nets.n * sizeof(struct cfg_net));
			if (t->local_net) {
				memcpy(t->local_net, tt->nets.v, tt->nets.n * sizeof(struct cfg_net));
				t->local_net_n = tt->nets.n;
			}
		}
		bad[n] = tt->bind_bad;
		cfg->transports[n++] = *t;
	}
	cfg->transports_n = n;
	free(bad);
}

static void auths_finish(struct pjsip *pj)
{
	struct cfg_load *ld = pj->ld;
	struct kv_config *cfg = ld->cfg;
	size_t n = 0;

	if (pj->auths.n)
		qsort(pj->auths.v, pj->auths.n, sizeof(*pj->auths.v), cmp_auth);
	cfg->auths = load_alloc(ld, (pj->auths.n ? pj->auths.n : 1) * sizeof(*cfg->auths));
	if (!cfg->auths)
		return;
	for (size_t i = 0; i < pj->auths.n; i++) {
		struct tmp_auth *ta = &pj->auths.v[i];
		struct cfg_auth *a = &ta->a;

		if (n && !strcmp(cfg->auths[n - 1].name, a->name)) {
			duplicate(ld, "auth", a->name, a->file, a->line, cfg->auths[n - 1].file,
				  cfg->auths[n - 1].line);
			continue;
		}
		if (!a->realm)
			a->realm = cfg->default_realm;
		ha1_fill(a);
		if (!ta->algs_set) {
			memcpy(a->algs, cfg->default_algs, sizeof(a->algs));
			a->algs_n = cfg->default_algs_n;
		}
		/* Without a username or any credential this was reported. */
		bool creds = a->password || a->password_digest || a->password_digest_sha256;

		for (size_t j = 0; j < a->algs_n && a->username && creds; j++) {
			bool sha = a->algs[j] == CFG_ALG_SHA256;

			if (a->password || (sha ? a->password_digest_sha256 : a->password_digest))
				continue;
			/* Asterisk would send this challenge and then fail
			 * every answer to it. */
			sec_err(ld, ta->s, "auth", "algorithm %s needs a password or a %s "
				"password_digest", sha ? "SHA-256" : "MD5", sha ? "SHA-256" : "MD5");
		}
		cfg->auths[n++] = *a;
	}
	cfg->auths_n = n;
}

static void aors_finish(struct pjsip *pj)
{
	struct cfg_load *ld = pj->ld;
	struct kv_config *cfg = ld->cfg;
	size_t n = 0;

	if (pj->aors.n)
		qsort(pj->aors.v, pj->aors.n, sizeof(*pj->aors.v), cmp_aor);
	cfg->aors = load_alloc(ld, (pj->aors.n ? pj->aors.n : 1) * sizeof(*cfg->aors));
	if (!cfg->aors)
		return;
	for (size_t i = 0; i < pj->aors.n; i++) {
		struct tmp_aor *ta = &pj->aors.v[i];
		struct cfg_aor *a = &ta->a;

		if (n && !strcmp(cfg->aors[n - 1].name, a->name)) {
			duplicate(ld, "aor", a->name, a->file, a->line, cfg->aors[n - 1].file,
				  cfg->aors[n - 1].line);
			continue;
		}
		if (ta->contacts.n) {
			a->contact = load_alloc(ld, ta->contacts.n * sizeof(char *));
			if (a->contact) {
				memcpy(a->contact, ta->contacts.v, ta->contacts.n * sizeof(char *));
				a->contact_n = ta->contacts.n;
			}
		}
		cfg->aors[n++] = *a;
	}
	cfg->aors_n = n;
}

static struct cfg_transport *transport_find(struct kv_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->transports_n; i++) {
		if (!strcmp(cfg->transports[i].name, name))
			return &cfg->transports[i];
	}
	return NULL;
}

static void endpoints_finish(struct pjsip *pj)
{
	struct cfg_load *ld = pj->ld;
	struct kv_config *cfg = ld->cfg;
	const char *kind = "endpoint";
	size_t n = 0;

	if (pj->endpoints.n)
		qsort(pj->endpoints.v, pj->endpoints.n, sizeof(*pj->endpoints.v), cmp_endpoint);
	cfg->endpoints = load_alloc(ld, (pj->endpoints.n ? pj->endpoints.n : 1) *
				    sizeof(*cfg->endpoints));
	if (!cfg->endpoints)
		return;
	for (size_t i = 0; i < pj->endpoints.n; i++) {
		struct tmp_endpoint *te = &pj->endpoints.v[i];
		struct cfg_endpoint *e = &te->e;

		if (n && !strcmp(cfg->endpoints[n - 1].name, e->name)) {
			duplicate(ld, kind, e->name, e->file, e->line, cfg->endpoints[n - 1].file,
				  cfg->endpoints[n - 1].line);
			continue;
		}

		if (te->auth_var) {
			const struct astconf_var *v = te->auth_var;
			const char *pos = v->value, *item;
			size_t len, count = 0;

			while (cfgval_list_next(&pos, &item, &len)) {
				char name[ASTCONF_MAX_NAME + 1];

				if (++count > 1) {
					var_err(ld, v, kind, "several auth sections per endpoint are "
						"not supported yet");
					e->auth = NULL;
					break;
				}
				if (len > ASTCONF_MAX_NAME ||
				    !(e->auth = config_auth(cfg, item, len))) {
					snprintf(name, sizeof(name), "%.*s", (int)(len > ASTCONF_MAX_NAME ?
						 ASTCONF_MAX_NAME : len), item);
					var_err(ld, v, kind, "auth '%s' is not defined", name);
				}
			}
		}

		if (te->aors.n) {
			e->aors = load_alloc(ld, te->aors.n * sizeof(*e->aors));
			for (size_t j = 0; e->aors && j < te->aors.n; j++) {
				struct ref *r = &te->aors.v[j];
				struct cfg_aor *aor;
				size_t k;

				if (!r->name)
					continue;
				aor = config_aor(cfg, r->name, strlen(r->name));
				if (!aor) {
					var_err(ld, r->var, kind, "aor '%s' is not defined", r->name);
					continue;
				}
				for (k = 0; k < e->aors_n && e->aors[k] != aor; k++)
					;
				if (k == e->aors_n)
					e->aors[e->aors_n++] = aor;
			}
		}

		if (te->transport_var) {
			e->transport = transport_find(cfg, te->transport_var->value);
			if (!e->transport)
				var_err(ld, te->transport_var, kind, "transport '%s' is not defined",
					te->transport_var->value);
		}
		if (te->oauth_var) {
			const char *name = te->oauth_var->value;

			if (strchr(name, ','))
				var_err(ld, te->oauth_var, kind, "several outbound_auth sections "
					"are not supported yet");
			else if (!(e->outbound_auth = config_auth(cfg, name, strlen(name))))
				var_err(ld, te->oauth_var, kind, "auth '%s' is not defined", name);
		}
		cfg->endpoints[n++] = *e;
	}
	cfg->endpoints_n = n;
}

/* A match_header regex, or NULL after reporting why it is not one. */
static regex_t *header_regex(struct cfg_load *ld, const struct astconf_var *v,
			     const char *text)
{
	regex_t *re = load_alloc(ld, sizeof(*re));
	char why[128];
	int rc;

	if (!re)
		return NULL;
	rc = regcomp(re, text, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		regerror(rc, re, why, sizeof(why));
		var_err(ld, v, "identify", "invalid match_header regex '%.64s' (%s)",
			text, why);
		return NULL;
	}
	return re;
}

static void identifies_finish(struct pjsip *pj)
{
	struct cfg_load *ld = pj->ld;
	struct kv_config *cfg = ld->cfg;
	size_t n = 0;

	cfg->identifies = load_alloc(ld, (pj->identifies.n ? pj->identifies.n : 1) *
				     sizeof(*cfg->identifies));
	if (!cfg->identifies)
		return;
	for (size_t i = 0; i < pj->identifies.n; i++) {
		struct tmp_identify *ti = &pj->identifies.v[i];
		struct cfg_identify *id = &ti->i;
		bool dup = false;

		for (size_t j = 0; j < n && !dup; j++) {
			if (!strcmp(cfg->identifies[j].name, id->name)) {
				duplicate(ld, "identify", id->name, id->file, id->line,
					  cfg->identifies[j].file, cfg->identifies[j].line);
				dup = true;
			}
		}
		if (dup)
			continue;
		if (ti->endpoint_var) {
			const char *name = ti->endpoint_var->value;

			id->endpoint = config_endpoint(cfg, name, strlen(name));
			if (!id->endpoint)
				var_err(ld, ti->endpoint_var, "identify", "endpoint '%s' is not "
					"defined", name);
		}
		if (ti->nets.n) {
			id->match = load_alloc(ld, ti->nets.n * sizeof(struct cfg_net));
			if (id->match) {
				memcpy(id->match, ti->nets.v, ti->nets.n * sizeof(struct cfg_net));
				id->match_n = ti->nets.n;
			}
		}
		if (ti->hosts.n) {
			id->match_hosts = load_alloc(ld, ti->hosts.n * sizeof(char *));
			if (id->match_hosts) {
				memcpy(id->match_hosts, ti->hosts.v, ti->hosts.n * sizeof(char *));
				id->match_hosts_n = ti->hosts.n;
			}
		}
		id->match_header_re = NULL;
		if (ti->header_re && id->match_header_value)
			id->match_header_re = header_regex(ld, ti->header_var,
							   id->match_header_value);
		cfg->identifies[n++] = *id;
		cfg->identifies_n = n;    /* config_free() frees the regex */
	}
	cfg->identifies_n = n;
}

static void registrations_finish(struct pjsip *pj)
{
	struct cfg_load *ld = pj->ld;
	struct kv_config *cfg = ld->cfg;
	const char *kind = "registration";
	size_t n = 0;

	cfg->registrations = load_alloc(ld, (pj->registrations.n ? pj->registrations.n : 1) *
					sizeof(*cfg->registrations));
	if (!cfg->registrations)
		return;
	for (size_t i = 0; i < pj->registrations.n; i++) {
		struct tmp_registration *tr = &pj->registrations.v[i];
		struct cfg_registration *r = &tr->r;
		bool dup = false;

		for (size_t j = 0; j < n && !dup; j++) {
			if (!strcmp(cfg->registrations[j].name, r->name)) {
				duplicate(ld, kind, r->name, r->file, r->line_no,
					  cfg->registrations[j].file, cfg->registrations[j].line_no);
				dup = true;
			}
		}
		if (dup)
			continue;
		if (tr->auth_var) {
			const char *name = tr->auth_var->value;

			if (strchr(name, ','))
				var_err(ld, tr->auth_var, kind, "several outbound_auth sections "
					"are not supported yet");
			else if (!(r->outbound_auth = config_auth(cfg, name, strlen(name))))
				var_err(ld, tr->auth_var, kind, "auth '%s' is not defined", name);
		}
		if (tr->transport_var) {
			r->transport = transport_find(cfg, tr->transport_var->value);
			if (!r->transport)
				var_err(ld, tr->transport_var, kind, "transport '%s' is not defined",
					tr->transport_var->value);
		}
		if (tr->endpoint_var) {
			const char *name = tr->endpoint_var->value;

			r->endpoint = config_endpoint(cfg, name, strlen(name));
			if (!r->endpoint)
				var_err(ld, tr->endpoint_var, kind, "endpoint '%s' is not defined",
					name);
		}
		if (r->line && !tr->endpoint_var)
			var_err(ld, tr->line_var, kind, "line=yes needs endpoint= (the endpoint "
				"that calls through this registration belong to)");
		cfg->registrations[n++] = *r;
	}
	cfg->registrations_n = n;
}

void pjsip_load(struct cfg_load *ld, const struct astconf *ac)
{
	struct pjsip pj;

	memset(&pj, 0, sizeof(pj));
	pj.ld = ld;

	for (size_t i = 0; i < ac->sections_n && !ld->oom; i++) {
		if (!ac->sections[i]->template)
			section_parse(&pj, ac->sections[i]);
	}
	if (!ld->oom && pj.transports.n == 0)
		load_msg(ld, DIAG_ERROR, FILE_NAME, 0, "no transport defined");

	/* Order matters: endpoints refer to transports, auths and aors,
	 * identifies to endpoints, and auths use the global defaults. */
	if (!ld->oom)
		transports_finish(&pj);
	if (!ld->oom)
		auths_finish(&pj);
	if (!ld->oom)
		aors_finish(&pj);
	if (!ld->oom)
		endpoints_finish(&pj);
	if (!ld->oom)
		identifies_finish(&pj);
	if (!ld->oom)
		registrations_finish(&pj);

	for (size_t i = 0; i < pj.transports.n; i++)
		vec_free(&pj.transports.v[i].nets);
	for (size_t i = 0; i < pj.aors.n; i++)
		vec_free(&pj.aors.v[i].contacts);
	for (size_t i = 0; i < pj.endpoints.n; i++)
		vec_free(&pj.endpoints.v[i].aors);
	for (size_t i = 0; i < pj.identifies.n; i++) {
		vec_free(&pj.identifies.v[i].nets);
		vec_free(&pj.identifies.v[i].hosts);
	}
	vec_free(&pj.transports);
	vec_free(&pj.auths);
	vec_free(&pj.aors);
	vec_free(&pj.endpoints);
	vec_free(&pj.identifies);
	vec_free(&pj.registrations);
}
