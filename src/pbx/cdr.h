/*
 * cdr.h - call detail records in Asterisk's CSV format (cdr_csv).
 *
 * One line per call is appended to <astlogdir>/cdr-csv/Master.csv and,
 * with accountlogs, to <astlogdir>/cdr-csv/<accountcode>.csv, exactly as
 * Asterisk's cdr_csv writes them, so existing billing scripts keep working:
 *
 *   "accountcode","src","dst","dcontext","clid","channel","dstchannel",
 *   "lastapp","lastdata","start","answer","end",duration,billsec,
 *   "disposition","amaflags"[,"uniqueid"][,"userfield"]
 *   [,"peeraccount","linkedid",sequence]
 *
 * Every text field is double-quoted with embedded quotes doubled; the
 * numbers are bare; a time not reached (answer of an unanswered call) is an
 * empty, unquoted field; times are "YYYY-MM-DD HH:MM:SS", local or (with
 * usegmtime) UTC.  One difference, towards safer files: a CR or LF inside
 * a field is written as a space, so one record is always one line.
 *
 * What cdr.conf asks for (struct cdr_config) is read by config/cdrconf.c.
 */
#ifndef KV_PBX_CDR_H
#define KV_PBX_CDR_H

#include <stdbool.h>
#include <sys/time.h>

#include "config/config.h"
#include "util/sbuf.h"

#define CDR_DEFAULT_LOGDIR "/var/log/asterisk"

/* Zero is Asterisk's default for a fresh record. */
enum cdr_disposition {
	CDR_NOANSWER = 0,      /* "NO ANSWER" */
	CDR_FAILED,            /* "FAILED" */
	CDR_BUSY,              /* "BUSY" */
	CDR_ANSWERED,          /* "ANSWERED" */
	CDR_CONGESTION,        /* "CONGESTION" */
};

enum cdr_amaflags {
	CDR_AMA_DOCUMENTATION = 0,
	CDR_AMA_BILLING,
	CDR_AMA_OMIT,
};

/* Strings are borrowed; NULL is written as an empty field.  A zero time
 * is "not reached". */
struct cdr {
	const char *accountcode;
	const char *src;            /* caller number */
	const char *dst;            /* extension dialled */
	const char *dcontext;
	const char *clid;           /* "Name" <number> */
	const char *channel;        /* PJSIP/alice-00000001 */
	const char *dstchannel;
	const char *lastapp;        /* Dial, Playback, Echo... */
	const char *lastdata;
	struct timeval start;
	struct timeval answer;
	struct timeval end;
	long duration;              /* seconds, see cdr_set_durations() */
	long billsec;
	enum cdr_disposition disposition;
	enum cdr_amaflags amaflags;
	const char *uniqueid;
	const char *userfield;
	const char *peeraccount;    /* newcdrcolumns */
	const char *linkedid;
	int sequence;
};

const char *cdr_disposition_str(enum cdr_disposition d);
const char *cdr_amaflags_str(enum cdr_amaflags a);

/* duration and billsec from the times, as Asterisk computes them: whole
 * seconds, billsec 0 without answer, rounded to the nearest second with
 * initiatedseconds. */
void cdr_set_durations(struct cdr *c, const struct cdr_config *cfg);

/* Append the CSV line, newline included, to out.  0, or ENOMEM. */
int cdr_format(const struct cdr *c, const struct cdr_config *cfg, struct sbuf *out);

/*
 * Append the record to the CSV files, creating the directories.  Each
 * line goes out in one write() on an O_APPEND descriptor, so concurrent
 * writers, threads or processes, never interleave.  A no-op returning 0
 * unless cfg->enabled and cfg->csv.  astlogdir NULL: CDR_DEFAULT_LOGDIR.
 * Returns 0 or the first errno; failures are also logged with the path.
 * An accountcode containing '/' or starting with '.' gets no file of its
 * own (EINVAL), as in Asterisk, but Master.csv is still written.
 */
int cdr_write(const struct cdr_config *cfg, const char *astlogdir, const struct cdr *c);

/* key=value pairs for log_event(LOG_INFO, "cdr", "%s", ...): uniqueid,
 * channel, dstchannel, src, dst, dcontext, clid, lastapp, disposition,
 * duration, billsec and accountcode when set.  0, or ENOMEM. */
int cdr_log_line(const struct cdr *c, struct sbuf *out);
/* That line, logged at info level. */
void cdr_log(const struct cdr *c);

#endif
