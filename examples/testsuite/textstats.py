"""A small text-statistics module: the code under test of the example test plan (docs/testing.md)."""


def words(text):
    return [word for word in text.split() if any(character.isalnum() for character in word)]


def word_count(text):
    return len(words(text))


def average_word_length(text):
    found = [word.strip(".,;:!?") for word in words(text)]
    return sum(len(word) for word in found) / len(found) if found else 0.0


def title_case(text):
    # Known bug, kept so that the example suite has one failing case: apostrophes start a new word here.
    return text.title()
