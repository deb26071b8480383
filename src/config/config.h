/*
 * config.h - KubeVox's configuration model, read from Asterisk-style files.
 *
 * config_load() reads a config directory (asterisk.conf, pjsip.conf,
 * rtp.conf, kubevox.conf, http.conf; extensions.conf is accepted) with
 * Asterisk's grammar (see astconf.h) and Asterisk's meaning, resolves
 * every reference and validates every value.  The result is immutable and
 * reference counted, so a reload can build a new one and swap it in while
 * requests in flight keep the old one.
 */
#ifndef KV_CONFIG_CONFIG_H
#define KV_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <regex.h>
#include <stdio.h>
#include <sys/socket.h>

#include "config/types.h"
#include "util/diag.h"

enum cfg_proto { CFG_PROTO_UDP, CFG_PROTO_TCP };

struct cfg_net {                     /* CIDR: local_net, identify match */
	struct sockaddr_storage addr;
	unsigned prefix;
};

struct cfg_transport {
	char *name;
	enum cfg_proto proto;
	struct sockaddr_storage bind;    /* default 0.0.0.0:5060 */
	char *external_signaling_address;    /* NULL when unset */
	uint16_t external_signaling_port;    /* 0 when unset */
	char *external_media_address;        /* NULL when unset */
	struct cfg_net *local_net;
	size_t local_net_n;
	const char *file;
	int line;
};

struct cfg_auth {
	char *name;
	char *username;
	char *password;          /* NULL when password_digest is used */
	char *password_digest;   /* hex MD5(username:realm:password), or NULL */
	char *password_digest_sha256;  /* hex SHA-256 of the same, or NULL */
	char *realm;             /* effective: auth realm or global default_realm */
	/* H(username:realm:password) per algorithm, lowercase hex, computed at
	 * load from the password or copied from password_digest*; "" when
	 * unknown.  Authentication then hashes only per request data. */
	char ha1_md5[33];
	char ha1_sha256[65];
	enum cfg_digest_alg algs[CFG_MAX_ALGS];  /* offered, in order */
	size_t algs_n;
	const char *file;
	int line;
};

struct cfg_aor {
	char *name;
	unsigned max_contacts;        /* default 0 = registration refused */
	bool remove_existing;
	uint32_t minimum_expiration;  /* default 60 */
	uint32_t maximum_expiration;  /* default 7200 */
	uint32_t default_expiration;  /* default 3600 */
	uint32_t qualify_frequency;   /* stored, not used yet */
	char **contact;               /* static contacts (contact=) */
	size_t contact_n;
	/* mailboxes=: MWI a SUBSCRIBE to this aor gets (RFC 3842), as
	 * "MAILBOX@CONTEXT,..." (context default "default"); NULL when none */
	char *mailboxes;
	const char *file;
	int line;
};

enum cfg_timers { CFG_TIMERS_NO, CFG_TIMERS_YES, CFG_TIMERS_REQUIRED,
		  CFG_TIMERS_ALWAYS };

/* dtmf_mode: where keys come from (res_pjsip's values; inband is not
 * supported and read as rfc4733, with a warning). */
enum cfg_dtmf_mode { CFG_DTMF_RFC4733, CFG_DTMF_INFO, CFG_DTMF_AUTO,
		     CFG_DTMF_AUTO_INFO };

struct cfg_endpoint {
	char *name;
	char *context;                /* default "default" */
	struct cfg_auth *auth;        /* NULL: no authentication required */
	struct cfg_aor **aors;
	size_t aors_n;
	struct cfg_transport *transport;   /* NULL: any */
	char *callerid;               /* "Name" <num>, as written, or NULL */
	char *language;               /* prompts' language, default "en" */
	char *moh_suggest;            /* music class its holds play to the
				       * other party, default "default" */
	enum cfg_codec allow[CFG_CODEC_COUNT];  /* preference order */
	size_t allow_n;
	/* Calls to the endpoint (a trunk), with res_pjsip's meaning. */
	struct cfg_auth *outbound_auth;   /* answers 401/407 to our INVITEs */
	char *from_user;              /* From's user instead of the caller ID */
	char *from_domain;            /* From's host instead of our address */
	char *outbound_proxy;         /* sip: URI every INVITE goes through */
	/* Unsolicited MWI (res_pjsip_mwi): mailboxes as "MAILBOX@CONTEXT,..."
	 * or NULL; a SUBSCRIBE for one of them stops the unsolicited NOTIFYs
	 * with mwi_subscribe_replaces_unsolicited, else it is refused; From's
	 * user of those NOTIFYs (default "asterisk", as default_from_user). */
	char *mailboxes;
	char *mwi_from_user;
	char *transfer_context;       /* where a blind transfer's target
				       * runs; NULL: context */
	const char *file;
	int line;
	enum cfg_dtmf_mode dtmf_mode; /* default rfc4733 */
	uint32_t rtp_timeout;         /* s without RTP before hang-up, 0 never */
	uint32_t rtp_timeout_hold;    /* the same while on hold */
	enum cfg_timers timers;       /* RFC 4028 session timers, default yes */
	uint32_t timers_min_se;       /* default 90 */
	uint32_t timers_sess_expires; /* default 1800 */
	uint32_t sub_min_expiry;      /* shortest SUBSCRIBE Expires (s); 0: 60 */
	bool trust_id_inbound;        /* caller ID from P-Asserted-Identity or
				       * Remote-Party-ID (default no) */
	bool send_pai;                /* P-Asserted-Identity with the caller ID */
	bool send_rpid;               /* Remote-Party-ID with the caller ID */
	bool trust_id_outbound;       /* ... even when its presentation is
				       * restricted (with Privacy: id) */
	bool mwi_subscribe_replaces_unsolicited;
	bool allow_transfer;          /* REFER accepted (default yes) */
	bool refer_blind_progress;    /* NOTIFY up to the target's answer
				       * (default yes), or 200 at once */
};

struct cfg_identify {
	char *name;
	struct cfg_endpoint *endpoint;
	struct cfg_net *match;
	size_t match_n;
	/* match= host names: pbx/idhosts resolves them on the loop (SRV,
	 * then A/AAAA; A/AAAA only without srv_lookups) */
	char **match_hosts;
	size_t match_hosts_n;
	/* match_header = "Name: value": a request with a header of that name
	 * (any case) whose value is exactly value, or matches the POSIX
	 * extended regex written between slashes, as Asterisk 16+. */
	char *match_header_name;      /* NULL when unset */
	char *match_header_value;     /* the exact value, or the regex's text */
	regex_t *match_header_re;     /* compiled /regex/, or NULL */
	bool srv_lookups;             /* default yes */
	const char *file;
	int line;
};

/* pjsip.conf type=registration: an outbound registration to a provider
 * (res_pjsip_outbound_registration's options and defaults). */
struct cfg_registration {
	char *name;
	char *server_uri;             /* where REGISTER goes (Request-URI) */
	char *client_uri;             /* From and To (the AOR registered) */
	char *contact_user;           /* default "s", as Asterisk */
	char *contact_header_params;  /* "a=b;c" for the Contact header, or NULL */
	struct cfg_auth *outbound_auth;   /* NULL: answer no challenge */
	struct cfg_transport *transport;  /* NULL: the first of server_uri's
					   * protocol */
	struct cfg_endpoint *endpoint;    /* endpoint= (for line=), or NULL */
	uint32_t expiration;          /* default 3600 */
	uint32_t retry_interval;      /* default 60 */
	uint32_t forbidden_retry_interval;  /* default 0: 403 stops */
	uint32_t fatal_retry_interval;      /* default 0: fatal codes stop */
	uint32_t max_retries;         /* default 10 */
	uint32_t max_random_initial_delay;  /* default 10 */
	bool auth_rejection_permanent;      /* default yes */
	bool line;                    /* default no */
	const char *file;
	int line_no;
};

struct cfg_security {                 /* kubevox.conf [security] */
	unsigned ban_failures;        /* failed auths before a ban (default 20) */
	unsigned ban_window;          /* seconds the failures are counted over (60) */
	unsigned ban_time;            /* seconds a banned source gets 403 (300) */
	struct cfg_net *ban_exempt;   /* networks never banned */
	size_t ban_exempt_n;
	unsigned nonce_lifetime;      /* seconds a nonce is valid (default 300) */
	char *nonce_secret;           /* never NULL after a load: [security]
				       * nonce_secret, else [cluster] secret,
				       * else derived from the credentials */
};

enum cfg_state_backend { CFG_STATE_MEMORY, CFG_STATE_REDIS };

#define CFG_SENTINELS_MAX 16

/* One sentinel of redis-sentinel://: a name or an address, and a port. */
struct cfg_sentinel {
	char *host;
	uint16_t port;                /* default 26379 */
};

struct cfg_state {                    /* kubevox.conf [state] */
	enum cfg_state_backend backend;   /* default memory */
	char *url;                    /* as written, for logs (no password) */
	char *host;                   /* redis://HOST:PORT/DB; NULL for unix:
				       * and redis-sentinel: */
	uint16_t port;                /* default 6379 */
	char *unix_path;              /* unix:PATH; NULL for redis:// */
	unsigned db;                  /* default 0 */
	char *password;               /* AUTH, of Redis and of the sentinels;
				       * NULL when none */
	/* redis-sentinel://HOST:PORT,.../MASTER: the sentinels to ask for
	 * the master called master (sentinels_n 0 otherwise). */
	struct cfg_sentinel *sentinels;
	size_t sentinels_n;
	char *master;
};

/* Characters of a replica name.  Node names (the Deployment's default)
 * may be longer (cloud node names often pass 40 and differ only at the
 * end): those are shortened to a prefix and a hash of the whole name, the
 * same on every start. */
#define CFG_REPLICA_MAX 63

struct cfg_cluster {                  /* kubevox.conf [cluster] */
	char *replica;                /* never NULL after a load: replica, else
				       * $KUBEVOX_REPLICA, else the host name */
	/* Where other replicas send SIP for this one: advertise, else
	 * $KUBEVOX_ADVERTISE, else the first UDP transport's bind address
	 * (AF_UNSPEC when that is a wildcard: no cluster routing). */
	struct sockaddr_storage advertise;
	char *secret;                 /* never NULL after a load: secret, else
				       * the effective nonce secret */
};

/* kubevox.conf [http]: what guards the ops endpoints that reveal calls or
 * change state (/status, /reload). */
struct cfg_ops_auth {
	char *token;                  /* bearer token; NULL: loopback only */
};

/* kubevox.conf [dns]: the name servers that resolve SIP hosts (trunks'
 * contacts and server URIs); none: resolv.conf's. */
struct cfg_dns {
	struct sockaddr_storage *nameservers;   /* each with its port (53) */
	size_t nameservers_n;
};

/* http.conf [general], as Asterisk reads it: the server runs only with
 * enabled=yes AND a bindaddr (Asterisk has no default bind address). */
struct cfg_http {
	bool enabled;                 /* enabled=yes and bindaddr set */
	struct sockaddr_storage bind; /* bindaddr, port from it or bindport (8088) */
};

struct dialplan;

/* musiconhold.conf: one class of mode=files (config/mohconf.c). */
enum cfg_moh_sort { CFG_MOH_SORT_ALPHA, CFG_MOH_SORT_RANDOM, CFG_MOH_SORT_RANDSTART };

struct cfg_moh_class {
	char *name;
	char *directory;              /* absolute: a relative directory= is
				       * under astdatadir, as in Asterisk */
	enum cfg_moh_sort sort;       /* default alpha */
	const char *file;
	int line;
};

/* cdr.conf, as Asterisk's cdr and cdr_csv modules read it (cdrconf.c
 * reads it, pbx/cdr.c writes the records). */
struct cdr_config {
	bool enabled;                 /* [general] enable */
	bool unanswered;
	bool congestion;
	bool initiatedseconds;
	bool csv;                     /* a [csv] section exists */
	bool usegmtime;
	bool loguniqueid;
	bool loguserfield;
	bool accountlogs;
	bool newcdrcolumns;
};

/* voicemail.conf, as app_voicemail reads it (vmconf.c reads it,
 * pbx/voicemail.c records and plays the messages). */
struct vm_mailbox {
	const char *context;
	const char *mailbox;
	const char *password;         /* "" when none; a leading '-' removed */
	const char *fullname;
	const char *email;
	const char *pager;
	const char *file;
	int line;
};

struct vm_config {
	bool present;                 /* voicemail.conf exists */
	uint32_t maxmsg;              /* default 100 */
	uint32_t maxsecs;             /* 0: VM_MAXSECS_CAP */
	uint32_t minsecs;             /* default 0 */
	uint32_t maxsilence;          /* seconds, 0: no silence detection */
	uint32_t silencethreshold;    /* mean |sample| under it is silence: 256 */
	/* pollmailboxes, pollfreq: look at the spool for changes made
	 * elsewhere (another replica, a script) every pollfreq s (30) */
	bool pollmailboxes;
	uint32_t pollfreq;
	struct vm_mailbox *boxes;     /* in file order */
	size_t boxes_n;
};

struct kv_config {
	unsigned refs;
	char *dir;

	/* pjsip.conf [global] */
	char *default_realm;          /* default "asterisk" */
	enum cfg_digest_alg default_algs[CFG_MAX_ALGS];  /* default MD5 only */
	size_t default_algs_n;
	char *user_agent;             /* default "KubeVox" */

	struct cfg_transport *transports;  size_t transports_n;
	struct cfg_auth *auths;            size_t auths_n;
	struct cfg_aor *aors;              size_t aors_n;
	struct cfg_endpoint *endpoints;    size_t endpoints_n;
	struct cfg_identify *identifies;   size_t identifies_n;
	struct cfg_registration *registrations;  size_t registrations_n;

	/* rtp.conf [general] */
	uint16_t rtpstart;            /* default 5000, as Asterisk */
	uint16_t rtpend;              /* default 31000, as Asterisk */

	/* asterisk.conf [directories] */
	char *astlogdir;              /* default /var/log/asterisk */
	char *astspooldir;            /* default /var/spool/asterisk */
	char *astdatadir;             /* default /usr/share/asterisk (Debian's) */
	/* asterisk.conf [options] systemname: what starts every uniqueid
	 * ("NAME-1796550000.1"), so records of several servers never collide;
	 * NULL: none, and in cluster mode the replica's name stands in */
	char *systemname;

	struct cfg_security security;
	struct cfg_state state;
	struct cfg_cluster cluster;
	struct cfg_ops_auth ops_auth;
	struct cfg_dns dns;

	/* http.conf: health, metrics and status (src/ops/) */
	struct cfg_http http;
	/* kubevox.conf [general] drain_timeout: seconds calls may last
	 * after draining began before they are hung up (default 3600) */
	unsigned drain_timeout;
	/* kubevox.conf [debug] allow_freeze: POST /debug/freeze (default no) */
	bool debug_freeze;

	/* extensions.conf: never NULL after a successful load */
	struct dialplan *dialplan;
	/* cdr.conf: without it no CDR is written, as in Asterisk */
	struct cdr_config cdr;
	/* musiconhold.conf: the classes KubeVox plays (mode=files) */
	struct cfg_moh_class *moh_classes;  size_t moh_classes_n;
	/* voicemail.conf: no file, no mailboxes */
	struct vm_config vm;

	/* Every file read (after includes), for change detection: full
	 * paths (the config dir joined with the name the user wrote). */
	char **files;
	size_t files_n;

	void *mem;                    /* private: storage of everything above */
};

/*
 * Load and validate dir.  Returns 0 and *cfgp (refs=1) when there is no
 * error (warnings are allowed); otherwise EINVAL (ENOMEM when not even the
 * configuration could be allocated) with *cfgp NULL.  Every problem is
 * added to diag either way.
 */
int config_load(const char *dir, struct kv_config **cfgp, struct diag *diag);
/*
 * `kubevoxd --check`: load dir, print every message to fp (one
 * "file:line: message" line each, nothing else) and return the exit
 * status: 0 when there is no error (warnings allowed), 1 otherwise.
 */
int config_check(const char *dir, FILE *fp);
struct kv_config *config_ref(struct kv_config *cfg);
void config_unref(struct kv_config *cfg);

/* Name lookups (exact, case-sensitive as in Asterisk); NULL when absent. */
struct cfg_endpoint *config_endpoint(const struct kv_config *cfg, const char *name, size_t len);
struct cfg_aor *config_aor(const struct kv_config *cfg, const char *name, size_t len);
struct cfg_auth *config_auth(const struct kv_config *cfg, const char *name, size_t len);
/* line=yes: the Contact's line parameter of registration r, the same on
 * every replica (a MAC of its name under the cluster secret), so that a
 * provider's INVITE to it is recognised wherever it arrives.  out gets 16
 * hex digits. */
void config_registration_line(const struct kv_config *cfg,
			      const struct cfg_registration *r, char out[17]);
/* The registration with line=yes whose line parameter this is, or NULL. */
const struct cfg_registration *config_registration_by_line(const struct kv_config *cfg,
							   const char *line, size_t len);
/* Endpoint whose identify section matches this source address, or NULL. */
struct cfg_endpoint *config_identify(const struct kv_config *cfg, const struct sockaddr *sa);

#endif
