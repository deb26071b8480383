/*
 * log.h - one line per event on stdout, logfmt (key=value) format.
 *
 * Every line starts with ts=RFC3339-ms level=... event=...; values with
 * spaces, quotes or '=' are double-quoted with \" and \\ escapes.  Lines
 * are written with one write() so concurrent threads never interleave.
 */
#ifndef KV_UTIL_LOG_H
#define KV_UTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
/* Batch this thread's info/debug lines until log_flush(); warnings and
 * errors are written at once, and a full batch is flushed by itself.
 * log_pending(): lines are waiting. */
void log_batch(bool on);
void log_flush(void);
bool log_pending(void);
void log_set_fd(int fd);
bool log_enabled(enum log_level lvl);

/*
 * log_event(LOG_INFO, "register", "aor=%s contacts=%u", ...): fmt holds the
 * key=value pairs after event=; use log_q() to quote free text values.
 */
void log_event(enum log_level lvl, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * One event whose single value key= is free text formatted from fmt, as
 * other libraries give it (libmicrohttpd's error logger): quoted as
 * log_q() does, without its trailing line breaks, cut only where the log
 * line itself is.
 */
void log_vtext(enum log_level lvl, const char *event, const char *key,
	       const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/* Quote s for a logfmt value into buf (always NUL-terminated); returns buf. */
const char *log_q(char *buf, size_t size, const char *s, size_t len);

/* Token bucket: at most burst events, refilled at rate per second.
 * log_ratelimit_allow() returns true if this event may be logged and counts
 * suppressed ones, reported by the next allowed line via *suppressed. */
struct log_ratelimit {
	double tokens;
	double rate;
	double burst;
	uint64_t last_ms;
	uint64_t suppressed;
};

void log_ratelimit_init(struct log_ratelimit *rl, double rate, double burst);
bool log_ratelimit_allow(struct log_ratelimit *rl, uint64_t now_ms, uint64_t *suppressed);

#endif
