/*
 * log.c - logfmt event lines on stdout (see log.h for the format).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static enum log_level log_min = LOG_INFO;
static int log_fd = STDOUT_FILENO;

/*
 * A thread that turns an event loop may batch its lines (log_batch()) and
 * write them when it chooses (log_flush()): a busy SIP loop then makes one
 * write() per interval instead of one per event.  Other threads write
 * each line at once.
 */
#define LOG_BATCH_SIZE 16384
#define LOG_LINE 2048            /* one line at most, newline included */
static __thread char *batch;
static __thread size_t batch_len;
static __thread bool batching;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lvl)
{
	log_min = lvl;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(log_fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

void log_batch(bool on)
{
	static __thread char buf[LOG_BATCH_SIZE];

	log_flush();
	batching = on;
	batch = on ? buf : NULL;
}

void log_flush(void)
{
	if (batch_len) {
		write_all(batch, batch_len);
		batch_len = 0;
	}
}

bool log_pending(void)
{
	return batch_len != 0;
}

bool log_enabled(enum log_level lvl)
{
	return lvl >= log_min;
}

void log_event(enum log_level lvl, const char *event, const char *fmt, ...)
{
	char line[LOG_LINE];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int r;
	va_list ap;

	if (!log_enabled(lvl))
		return;

	gettimeofday(&tv, NULL);
	/* The date part changes once a second: format it once per second. */
	static __thread time_t ts_sec = -1;
	static __thread char ts_text[32];
	static __thread size_t ts_len;

	if (tv.tv_sec != ts_sec) {
		gmtime_r(&tv.tv_sec, &tm);
		ts_len = strftime(ts_text, sizeof(ts_text), "ts=%Y-%m-%dT%H:%M:%S", &tm);
		ts_sec = tv.tv_sec;
	}
	memcpy(line, ts_text, ts_len);
	n = ts_len;
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ level=%s event=%s",
		     (long)(tv.tv_usec / 1000), level_names[lvl], event);
	if (r > 0)
		n += (size_t)r;
	if (fmt && *fmt && n < sizeof(line) - 2) {
		line[n++] = ' ';
		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (r > 0)
			n += (size_t)r;
	}
	/* A truncated line still ends with a newline, so the next one parses. */
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';

	if (!batching) {
		write_all(line, n);
		return;
	}
	if (batch_len + n > LOG_BATCH_SIZE)
		log_flush();
	memcpy(batch + batch_len, line, n);
	batch_len += n;
	/* Warnings and errors go out at once: they may precede a crash. */
	if (lvl >= LOG_WARN)
		log_flush();
}

void log_vtext(enum log_level lvl, const char *event, const char *key,
	       const char *fmt, va_list ap)
{
	/* The line's size: text beyond it could not show anyway. */
	char text[LOG_LINE], q[LOG_LINE];
	size_t n;
	int r;

	if (!log_enabled(lvl))
		return;
	r = vsnprintf(text, sizeof(text), fmt, ap);
	n = r < 0 ? 0 : (size_t)r < sizeof(text) ? (size_t)r : sizeof(text) - 1;
	/* Our line ends the event; the message's own break would be noise. */
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	log_event(lvl, event, "%s=%s", key, log_q(q, sizeof(q), text, n));
}

const char *log_q(char *buf, size_t size, const char *s, size_t len)
{
	bool quote = (len == 0);
	size_t o = 0;

	if (size < 3) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	for (size_t i = 0; i < len && !quote; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
			quote = true;
	}
	if (!quote) {
		if (len >= size)
			len = size - 1;
		memcpy(buf, s, len);
		buf[len] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[5];
		size_t el;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			el = 2;
		} else if (c < ' ' || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			el = 4;
		} else {
			esc[0] = (char)c;
			el = 1;
		}
		if (o + el + 2 > size)
			break;
		memcpy(buf + o, esc, el);
		o += el;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

void log_ratelimit_init(struct log_ratelimit *rl, double rate, double burst)
{
	rl->tokens = burst;
	rl->rate = rate;
	rl->burst = burst;
	rl->last_ms = 0;
	rl->suppressed = 0;
}

bool log_ratelimit_allow(struct log_ratelimit *rl, uint64_t now_ms, uint64_t *suppressed)
{
	if (rl->last_ms && now_ms > rl->last_ms) {
		rl->tokens += (double)(now_ms - rl->last_ms) * rl->rate / 1000.0;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
	}
	rl->last_ms = now_ms;
	if (rl->tokens < 1.0) {
		rl->suppressed++;
		return false;
	}
	rl->tokens -= 1.0;
	if (suppressed)
		*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
