/*
 * say.h - the prompts that say digits and numbers, with the rules of
 * Asterisk's say.c: SayDigits() is ast_say_digit_str() (digits/0 ..
 * digits/9, digits/star, digits/pound, digits/minus; anything else is
 * skipped), SayNumber() is ast_say_number_full_en() (digits/0 ..
 * digits/19, digits/20 .. digits/90, digits/hundred, digits/thousand,
 * digits/million, digits/billion, digits/minus) or, for a language
 * starting with "fr", ast_say_number_full_fr() ("vingt et un" is
 * digits/20 digits/et digits/1, 71 digits/60 digits/et digits/11, 80
 * digits/80, 91 digits/80 digits/11, 100 digits/hundred, 1000
 * digits/thousand; "une" is digits/1F with gender f).  Every other
 * language is said in English, as Asterisk falls back to it.
 *
 * Pure: the names are appended to out, '&'-separated, for the player.
 */
#ifndef KV_PBX_SAY_H
#define KV_PBX_SAY_H

#include "util/sbuf.h"

/* 0 or ENOMEM. */
int say_digits(const char *digits, struct sbuf *out);
/* gender "" or NULL, "f", "m", "c", "n".  0, EINVAL when the number is
 * too large for the language's rules (nothing is appended), ENOMEM. */
int say_number(int num, const char *lang, const char *gender, struct sbuf *out);

#endif
