#!/usr/bin/env python3
"""corpus.py MB OUT — the tokenizer benchmark's text: about MB megabytes of generated documents, one per
line, from a fixed seed (the same bytes on every machine). English-like prose (common words, made-up words
from syllables, capitals, contractions), numbers (integers, decimals, years, thousands separators,
versions), punctuation and brackets, runs of spaces and tabs, no-break and ideographic spaces, and other
scripts: accented Latin, Greek, Cyrillic, Arabic, Hebrew, Devanagari, CJK, combining marks, emoji.

It avoids the few characters on which the peers disagree among themselves about \\s (U+0085, U+180E,
U+FEFF): JavaScript's \\s and Unicode's White_Space differ there, and the ids are compared for equality."""
import random
import sys

COMMON = ("the of and to in is was that for it with as his on be at by had are but from or have an they which "
          "one you were her all she there would their we him been has when who will more no if out so said what "
          "up its about into than them can only other new some could time these two may then do first any my now "
          "such like our over man me even most made after also did many before must through back years where much "
          "your way well down should because each just those people how too little state good very make world "
          "still own see men work long get here between both life being under never day same another know while "
          "last might us great old year off come since against go came right used take three").split()
SYLLABLES = ("ka ri to ne mo la shi ven tor al be ex pre con ment tion ing er ly un re dis ous ful ize ph qu "
             "str thr ight ough ack ell ist").split()
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "n't", "'S", "'T"]
PUNCT = [",", ".", ";", ":", "!", "?", "...", " -", " --", "\u2014", "\u2026", ")", "]", "\"", "'", " (", " [",
         " \"", "!!", "?!", " &", " %", " #", " @", " /", " *", " +", " =", " <", " >", " |", " ~", " `", " ^",
         " $", " {", "}", " \u00ab", "\u00bb", " \u201c", "\u201d", "\u2019"]
UNICODE_WORDS = ["caf\u00e9", "na\u00efve", "Stra\u00dfe", "\u00fcber", "fa\u00e7ade", "r\u00e9sum\u00e9",
                 "\u00c5ngstr\u00f6m", "se\u00f1or", "\u0142\u00f3d\u017a", "\u010ce\u0161tina",
                 "\u03b1\u03b2\u03b3", "\u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1",
                 "\u041f\u0440\u0438\u0432\u0435\u0442", "\u043c\u0438\u0440",
                 "\u0645\u0631\u062d\u0628\u0627", "\u05e9\u05dc\u05d5\u05dd",
                 "\u0928\u092e\u0938\u094d\u0924\u0947", "\u4f60\u597d", "\u4e16\u754c\u548c\u5e73",
                 "\u3053\u3093\u306b\u3061\u306f", "\u30ab\u30bf\u30ab\u30ca", "\ud55c\uad6d\uc5b4",
                 "e\u0301te\u0301", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35", "\U0001F600", "\U0001F680\U0001F680",
                 "\u2764\ufe0f", "\U0001F44D\U0001F3FD", "\u2211", "\u221e", "\u00bd", "\u2153", "\u00b2",
                 "\u2160\u2161", "\u0663\u0664", "\u00a9", "\u20ac5", "\u00a3", "\u00a5"]
SPACES = [" ", " ", " ", " ", " ", " ", " ", " ", "  ", "   ", "\t", " \t", "\u00a0", "\u3000", "\u2009", "    "]


def word(rng):
    r = rng.random()
    if r < 0.62:
        w = rng.choice(COMMON)
    elif r < 0.85:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))
    elif r < 0.93:
        w = rng.choice(UNICODE_WORDS)
    else:
        w = number(rng)
    if rng.random() < 0.12:
        w = w.capitalize()
    elif rng.random() < 0.01:
        w = w.upper()
    if rng.random() < 0.04:
        w += rng.choice(CONTRACTIONS)
    return w


def number(rng):
    r = rng.random()
    if r < 0.3:
        return str(rng.randint(0, 99))
    if r < 0.5:
        return str(rng.randint(1800, 2030))
    if r < 0.65:
        return "%d.%0*d" % (rng.randint(0, 999), rng.randint(1, 3), rng.randint(0, 999))
    if r < 0.8:
        return "{:,}".format(rng.randint(1000, 10 ** 9))
    if r < 0.9:
        return "v%d.%d.%d" % (rng.randint(0, 9), rng.randint(0, 20), rng.randint(0, 99))
    return str(rng.randint(10 ** 6, 10 ** 15))


def sentence(rng):
    parts = []
    for i in range(rng.randint(3, 25)):
        if i:
            parts.append(rng.choice(SPACES) if rng.random() < 0.15 else " ")
        parts.append(word(rng))
        if rng.random() < 0.12:
            parts.append(rng.choice(PUNCT))
    parts.append(rng.choice([".", ".", ".", "!", "?", "...", ":", ";"]))
    return "".join(parts)


def document(rng):
    out = []
    for i in range(rng.randint(1, 12)):
        if i:
            out.append(rng.choice(["  ", " ", " ", " ", "\t", " \u00a0"]))
        out.append(sentence(rng))
    if rng.random() < 0.05:
        out.append(rng.choice(["   ", "\t", " "]))  # trailing whitespace
    return "".join(out)


def main():
    target = int(float(sys.argv[1]) * 1_000_000)
    rng = random.Random(20240501)
    size = 0
    with open(sys.argv[2], "w", encoding="utf-8", newline="\n") as f:
        while size < target:
            line = document(rng) + "\n"
            size += len(line.encode("utf-8"))
            f.write(line)


if __name__ == "__main__":
    main()
