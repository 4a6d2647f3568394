"""The topic vocabulary: each kind of alias, the keys texts are compared by, and the rule's edges.

Every expectation is read off the rule in pipeline/topics.py's docstring by hand: which
alias stands where in the text, and whether a Latin letter or digit touches its ends.
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.config import load_settings
from pipeline.errors import ConfigError
from pipeline.indicators import Indicator, measure
from pipeline.normalize import Normalized
from pipeline.topics import MIN_THAI_INSIDE, TopicVocabulary, TopicVocabularyError, option_parts, topic_key
from tests.conftest import write_config

STEM = "สะเต็มศึกษา (STEM Education)"
ACTIVE = "การจัดการเรียนรู้เชิงรุก (Active Learning)"
RESEARCH = "การวิจัยในชั้นเรียน"
MEASURE = "การวัดและประเมินผล (O-NET, NT, RT)"
MONEY = "การเงิน การบัญชี และพัสดุ"
OPTIONS = [ACTIVE, STEM, RESEARCH, MEASURE, MONEY]


@pytest.fixture
def vocabulary() -> TopicVocabulary:
    return TopicVocabulary.build(OPTIONS, {
        "สะเต็มศึกษา": ["STEM", "สะเต็ม"],   # keyed by the option's Thai part: extends that option
        ACTIVE: ["AL"],
        MEASURE: ["O-NET", "วัด"],              # "วัด": a Thai alias under MIN_THAI_INSIDE letters
        "ลูกเสือ": ["ผู้กำกับลูกเสือ", "Scout"],  # a topic of its own, not a survey option
    })


# --- keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "key"), [
    ("  Active   Learning ", "active learning"),         # case, outer and doubled spaces
    ("สะเต็ม ศึกษา", "สะเต็มศึกษา"),                   # a space between Thai words
    ("อบรม STEM", "อบรมstem"),                           # a space between Thai and Latin
    ("O-NET", "onet"), ("o.net", "onet"), ("ป.๖", "ป6"),  # dots and dashes joined; Thai digits
    ("สะเต็มศึกษา (STEM Education)", "สะเต็มศึกษาstem education"),  # brackets are spaces
    ("Coaching,Mentoring", "coaching mentoring"),        # a comma between two words is a space
    ("STEM+Coding", "stem coding"),                      # ... and a symbol
    ("A\u00a0B", "a b"),                                  # a no-break space
    ("ภาษา C ขั้นพื้นฐาน", "ภาษาcขั้นพื้นฐาน"),             # a Latin letter between Thai: no space kept
    ("กิจกรรม 5ส Big Cleaning Day", "กิจกรรม5สbig cleaning day"),  # only the spaces between Latin words
    ("Plan Bแผนสำรอง", "plan bแผนสำรอง"),
    ("การนิเทศภายใน\u200b", "การนิเทศภายใน"),           # zero-width space
    ("การนํา", "การนำ"),                                 # sara am typed as nikhahit + sara aa
    ("", ""), (None, ""), (float("nan"), ""),
])
def test_texts_are_compared_by_their_key(typed, key):
    assert topic_key(typed) == key


@pytest.mark.parametrize(("option", "parts"), [
    (STEM, ["สะเต็มศึกษา", "STEM Education"]),
    (MEASURE, ["การวัดและประเมินผล", "O-NET, NT, RT"]),
    ("ภาษาอังกฤษ（English）", ["ภาษาอังกฤษ", "English"]),  # full-width brackets
    (RESEARCH, []),
    ("(STEM)", []),                                       # nothing before the brackets: not "Thai (other)"
    ("อบรม (รุ่น 1) ออนไลน์", []),                       # brackets not at the end
])
def test_an_option_written_thai_other_answers_to_each_part(option, parts):
    assert option_parts(option) == parts


# --- each kind of alias ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "topic"), [
    (STEM, STEM),                                        # the survey option's own wording
    ("สะเต็มศึกษา", STEM),                               # its Thai part
    ("STEM Education", STEM),                            # its bracket part
    ("stem  education", STEM),                           # ... compared by key
    ("STEM", STEM), ("สะเต็ม", STEM),                     # the config's aliases, whole
    ("ลูกเสือ", "ลูกเสือ"),                                # a topic the config adds
    ("Scout", "ลูกเสือ"),
    ("การเงินการบัญชีและพัสดุ", MONEY),                   # an option with commas, typed without them
])
def test_each_alias_names_its_topic_as_the_whole_text(vocabulary, text, topic):
    assert vocabulary.topics_in(text) == (topic,)
    assert vocabulary.canonical(text) == topic


@pytest.mark.parametrize(("text", "topic"), [
    ("อบรมสะเต็มศึกษาเบื้องต้น", STEM),                 # a Thai alias inside Thai text
    ("การจัดการเรียนรู้แบบสะเต็ม", STEM),
    ("อบรม STEM รุ่นที่ 2", STEM),                       # a Latin alias between spaces
    ("อบรมSTEM", STEM),                                  # a Latin alias touching Thai
    ("ติว O-NET ป.6", MEASURE),                          # dashes joined on both sides
    ("ยกระดับผลสอบONET", MEASURE),
    ("(AL) ในห้องเรียน", ACTIVE),                          # brackets are spaces
    ("ครู AL", ACTIVE),
    ("ผู้กำกับลูกเสือสามัญ", "ลูกเสือ"),                   # the longest alias, a topic's own name inside it
])
def test_an_alias_inside_a_text_names_its_topic(vocabulary, text, topic):
    assert vocabulary.topics_in(text) == (topic,)


@pytest.mark.parametrize("text", [
    "Digital literacy",        # "al" inside a word
    "ALTV",                    # "al" at the start of a longer word
    "การใช้ระบบ system",        # "stem" at the end of a word
    "STEMS",                   # ... and at the start
    "STEM-based learning",     # "-" joins ("stembased"), as it joins "O-NET": STEM is glued to a word
    "NT2",                     # a digit touching a Latin alias ("NT" is no alias here, "O-NET" is)
    "ศึกษาดูงานที่วัดพระธาตุ",     # "วัด": a short Thai alias only names its topic as the whole text
    "การปฐมพยาบาลเบื้องต้น",       # names no topic at all
    "", "   ",
])
def test_a_text_that_does_not_name_an_alias_names_no_topic(vocabulary, text):
    assert vocabulary.topics_in(text) == ()
    assert vocabulary.canonical(text) is None


def test_a_short_thai_alias_names_its_topic_as_the_whole_text_only(vocabulary):
    assert vocabulary.topics_in("วัด") == (MEASURE,)
    assert vocabulary.topics_in(" วัด ") == (MEASURE,)
    assert vocabulary.topics_in("การวัด") == ()


def test_a_thai_alias_of_exactly_the_minimum_length_is_found_inside_text():
    assert MIN_THAI_INSIDE == 4
    words = TopicVocabulary.build([], {"ไอที": [], "ครู": []})  # ไ-อ-ท-ี: 4 characters; ค-ร-ู: 3
    assert words.topics_in("ไอทีเพื่อการสอน") == ("ไอที",)
    assert words.topics_in("ครูแกนนำ") == ()
    assert words.topics_in("ครู") == ("ครู",)


FIVE_S, RANK = "ห้องเรียนคุณภาพตามแนว 5ส", "การประเมินวิทยฐานะ"


@pytest.mark.parametrize(("text", "found"), [
    # Short aliases with one Latin end: "5ส" starts with a digit, "วฐ.2" (key วฐ2) ends with one; both are
    # under MIN_THAI_INSIDE letters, yet found inside text, and only their Latin end is checked.
    ("กิจกรรม 5ส ในห้องเรียน", (FIVE_S,)),
    ("อบรม5ส", (FIVE_S,)),
    ("รุ่น 15ส", ()),                 # a digit right before its leading digit
    ("15ส", ()),                      # ... the text's first character
    ("5สประจำเดือน", (FIVE_S,)),       # Thai right after its Thai end
    ("เตรียมเอกสาร วฐ.2", (RANK,)),
    ("ติวONETวฐ.2", (RANK,)),          # a Latin letter right before its Thai start
    ("วฐ.25", ()),                    # a digit right after its trailing digit
    ("แบบวฐ.21", ()),
    ("ส่งวฐ.2ให้ผอ.", (RANK,)),
])
def test_a_short_alias_with_a_latin_end_is_found_inside_text_bounded_at_that_end(text, found):
    words = TopicVocabulary.build([], {FIVE_S: ["5ส"], RANK: ["วฐ.2"]})
    assert words.topics_in(text) == found


def test_an_alias_is_found_after_an_earlier_occurrence_that_is_part_of_a_word(vocabulary):
    # "al" stands in ALTV and in Digital as part of a word; the AL between them is the topic.
    assert vocabulary.topics_in("สื่อ ALTV และ AL ใน Digital classroom") == (ACTIVE,)
    assert vocabulary.topics_in("สื่อ ALTV และ Digital classroom") == ()


def test_a_text_may_name_several_topics_in_the_order_written(vocabulary):
    assert vocabulary.topics_in("อบรม AL และ STEM") == (ACTIVE, STEM)
    assert vocabulary.topics_in("STEM, AL, STEM อีกครั้ง") == (STEM, ACTIVE)


def test_the_longest_alias_wins_where_two_overlap():
    general = TopicVocabulary.build([ACTIVE], {"การจัดการเรียนรู้": []})
    assert general.topics_in("อบรมการจัดการเรียนรู้เชิงรุก") == (ACTIVE,)
    assert general.topics_in("อบรมการจัดการเรียนรู้") == ("การจัดการเรียนรู้",)
    # Two separate mentions are two topics, even when one alias is a part of the other.
    assert general.topics_in("การจัดการเรียนรู้ และการจัดการเรียนรู้เชิงรุก") == ("การจัดการเรียนรู้", ACTIVE)


def test_the_longest_alias_wins_over_a_shorter_one_that_starts_earlier():
    # "การอ่าน" starts 3 letters before "อ่านออกเขียนได้" and they share "อ่าน": the longer is the topic
    reading = TopicVocabulary.build(["การอ่าน", "อ่านออกเขียนได้"])
    assert reading.topics_in("ส่งเสริมการอ่านออกเขียนได้") == ("อ่านออกเขียนได้",)
    assert reading.topics_in("ส่งเสริมการอ่านและอ่านออกเขียนได้") == ("การอ่าน", "อ่านออกเขียนได้")


def test_two_aliases_that_touch_are_two_topics(vocabulary):
    # one alias ends exactly where the other begins (nothing typed between them)
    assert vocabulary.topics_in("STEMการวิจัยในชั้นเรียน") == (STEM, RESEARCH)
    assert vocabulary.topics_in("การวิจัยในชั้นเรียนSTEM") == (RESEARCH, STEM)


def test_without_a_vocabulary_nothing_is_a_topic():
    assert TopicVocabulary().topics_in(STEM) == ()


# --- over a column ---------------------------------------------------------------------------


def test_a_column_is_read_value_by_value_keeping_its_index(vocabulary):
    column = pd.Series(["STEM", "Digital", "STEM", None, "อบรม AL และ STEM"], index=[10, 11, 12, 13, 14])
    found = vocabulary.topics_of(column)
    assert list(found.index) == [10, 11, 12, 13, 14]
    assert list(found) == [(STEM,), (), (STEM,), (), (ACTIVE, STEM)]
    canonical = vocabulary.canonical_of(column)
    assert list(canonical.index) == [10, 11, 12, 13, 14]
    assert list(canonical) == [STEM, None, STEM, None, ACTIVE]
    assert list(vocabulary.topics_of([])) == []
    assert list(vocabulary.topics_of(["AL", "Digital"])) == [(ACTIVE,), ()]  # a plain list too


def test_each_distinct_text_is_worked_out_once(vocabulary, monkeypatch):
    seen = []
    real = TopicVocabulary._find
    monkeypatch.setattr(TopicVocabulary, "_find", lambda self, key: seen.append(key) or real(self, key))
    vocabulary.topics_of(pd.Series(["STEM", "stem", " STEM ", "AL", "STEM"]))
    assert sorted(seen) == ["al", "stem"]


# --- building the vocabulary --------------------------------------------------------------------


def test_an_alias_given_to_two_topics_is_refused():
    with pytest.raises(TopicVocabularyError) as refused:
        TopicVocabulary.build(OPTIONS, {STEM: ["STEM"], ACTIVE: ["stem"]})
    assert str(refused.value) == (
        f"vocabulary.topics '{ACTIVE}': ชื่อ 'stem' เป็นของทั้งหัวข้อ '{STEM}' และ '{ACTIVE}' (ให้อยู่ได้หัวข้อเดียว)")


def test_a_config_topic_without_text_is_refused():
    with pytest.raises(TopicVocabularyError) as refused:
        TopicVocabulary.build(OPTIONS, {"-": ["ลูกเสือ"]})
    assert str(refused.value) == "vocabulary.topics: ชื่อหัวข้อต้องมีตัวอักษร (ได้ '-')"


def test_an_alias_that_is_another_topic_s_name_is_refused():
    with pytest.raises(TopicVocabularyError, match=RESEARCH):
        TopicVocabulary.build(OPTIONS, {STEM: ["การวิจัยในชั้นเรียน"]})


@pytest.mark.parametrize("alias", ["", " ", "()", "-"])
def test_an_empty_alias_is_refused(alias):
    with pytest.raises(TopicVocabularyError, match="ต้องมีตัวอักษร"):
        TopicVocabulary.build(OPTIONS, {STEM: [alias]})


def test_a_blank_or_repeated_survey_option_is_one_topic_or_none():
    assert TopicVocabulary.build([STEM, "", "  ", STEM]).topics == (STEM,)


@pytest.mark.parametrize(("options", "named"), [
    ([STEM, "สะเต็ม-ศึกษา (STEM Education)"], "'สะเต็ม-ศึกษา (STEM Education)' เป็นของทั้งหัวข้อ"),  # one key
    ([STEM, "-"], "ต้องมีตัวอักษร"),
])
def test_survey_options_that_are_one_topic_or_no_text_are_refused_where_they_are_set(options, named):
    with pytest.raises(TopicVocabularyError) as refused:
        TopicVocabulary.build(options)
    assert str(refused.value).startswith("vocabulary.survey_topics: ") and named in str(refused.value)


def test_a_bracket_part_two_options_share_names_neither():
    both = TopicVocabulary.build(["ภาษาอังกฤษ (English)", "การสอนภาษาอังกฤษ (English)"])
    assert both.topics_in("English") == ()
    assert both.topics_in("ภาษาอังกฤษ") == ("ภาษาอังกฤษ (English)",)
    with pytest.raises(TopicVocabularyError) as refused:
        TopicVocabulary.build(["ภาษาอังกฤษ (English)", "การสอนภาษาอังกฤษ (English)"], {"English": ["Eng"]})
    assert str(refused.value) == (
        "vocabulary.topics 'English': 'English' เป็นส่วนของหลายหัวข้อ (การสอนภาษาอังกฤษ (English), "
        "ภาษาอังกฤษ (English)): ใช้ชื่อตัวเลือกเต็มของหัวข้อที่ต้องการเป็นคีย์")
    # The config may still give the shared part to one of them.
    chosen = TopicVocabulary.build(["ภาษาอังกฤษ (English)", "การสอนภาษาอังกฤษ (English)"],
                                   {"ภาษาอังกฤษ (English)": ["English"]})
    assert chosen.topics_in("English") == ("ภาษาอังกฤษ (English)",)


def test_config_keys_that_name_an_option_extend_it_and_others_are_new_topics(vocabulary):
    assert vocabulary.topics == (*OPTIONS, "ลูกเสือ")


def test_the_demo_config_s_aliases_load(demo_settings):
    vocabulary = TopicVocabulary.from_settings(demo_settings)
    assert vocabulary.topics == tuple(demo_settings.vocabulary.survey_topics)
    assert vocabulary.canonical("อบรม STEM") == "สะเต็มศึกษา (STEM Education)"


def test_a_config_with_an_alias_of_two_topics_stops_with_the_key_named(tmp_path):
    path = write_config(tmp_path, **{
        '"การนิเทศภายใน" = ["นิเทศภายใน"]': '"การนิเทศภายใน" = ["นิเทศภายใน", "STEM"]',
    })
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "vocabulary" in message and "'STEM'" in message and "การนิเทศภายใน" in message


# --- the survey-need indicator matches through the vocabulary ---------------------------------


def test_same_topic_trusts_the_vocabulary_when_both_texts_name_topics(vocabulary):
    assert vocabulary.same_topic("อบรม STEM", STEM)              # an alias and the option
    assert vocabulary.same_topic("อบรม AL และ STEM", STEM)       # one of two topics
    assert not vocabulary.same_topic("การจัดการเรียนรู้เชิงรุก", "อบรม STEM")
    general = TopicVocabulary.build([ACTIVE], {"การจัดการเรียนรู้": []})
    # Containment alone would match these; configured as two topics, they are two.
    assert not general.same_topic("การจัดการเรียนรู้เชิงรุก", "การจัดการเรียนรู้")


@pytest.mark.parametrize(("done", "need", "same"), [
    ("อบรมลูกเสือสามัญรุ่นใหญ่", "ลูกเสือสามัญ", True),     # a free-text need inside the development
    ("จิตวิทยาเด็ก", "จิตวิทยาเด็กและการแนะแนว", True),      # the development inside the need
    ("Digital literacy", "AL", False),                     # "al" inside a word: not a whole word
    ("Coaching", "Coaching,Mentoring", True),              # a whole word of the need
    ("ครู", "ครูแกนนำ", False),                              # a Thai text under MIN_THAI_INSIDE letters
    ("", "ลูกเสือสามัญ", False),
])
def test_same_topic_falls_back_to_whole_word_containment_for_unmapped_text(vocabulary, done, need, same):
    assert vocabulary.same_topic(done, need) is same


def test_a_record_is_in_the_topics_its_text_and_its_kind_name(vocabulary):
    found = vocabulary.record_topics(
        ["อบรม AL", "การพัฒนาทักษะการอ่าน", "STEM", "ปฐมพยาบาล", "AL"], ["อบรม", "STEM", "STEM", "อบรม", "STEM"]
    )
    assert found == [(ACTIVE,), (STEM,), (STEM,), (), (ACTIVE, STEM)]


def test_a_kind_names_a_need_only_through_the_vocabulary(vocabulary):
    assert vocabulary.kind_names("STEM", STEM)
    assert not vocabulary.kind_names("STEM", RESEARCH)
    assert not vocabulary.kind_names("อบรม", "อบรมลูกเสือ")  # "อบรม" is no topic: containment is not tried


def test_the_survey_need_indicator_counts_developments_through_aliases(vocabulary):
    # A1 asked for STEM and did "อบรม STEM" (an alias): met. A2 asked for STEM and did
    # "Active Learning" (another topic): not met. A3 asked for "AL" and did "Digital literacy":
    # "al" is not a whole word there, so not met (containment of the raw text would have said met).
    # A4 asked for STEM and did a development of kind "STEM" titled "ออกแบบกิจกรรมบูรณาการ": the
    # kind is the topic's alias, so met.
    units = pd.DataFrame([{"code": "pbn2", "kind": "office", "stem": False, "district": ""}])
    staff = pd.DataFrame([{"staff_id": sid, "unit_code": "pbn2", "unit_id": "pbn2:กลุ่ม", "position": "x"}
                          for sid in ("A1", "A2", "A3", "A4")])
    survey = pd.DataFrame([{"staff_id": "A1", "topics": (STEM,)}, {"staff_id": "A2", "topics": (STEM,)},
                           {"staff_id": "A3", "topics": ("AL",)}, {"staff_id": "A4", "topics": (STEM,)}])
    records = pd.DataFrame([
        {"staff_id": "A1", "fiscal_year": 2562, "done": True, "kind": "อบรม", "topic": "อบรม STEM"},
        {"staff_id": "A2", "fiscal_year": 2562, "done": True, "kind": "อบรม", "topic": "Active Learning"},
        {"staff_id": "A3", "fiscal_year": 2562, "done": True, "kind": "อบรม", "topic": "Digital literacy"},
        {"staff_id": "A4", "fiscal_year": 2562, "done": True, "kind": "STEM", "topic": "ออกแบบกิจกรรมบูรณาการ"},
    ])
    data = Normalized(units, staff, survey, pd.DataFrame(columns=["staff_id", "fiscal_year"]), records,
                      pd.DataFrame(), pd.DataFrame())
    rule = Indicator.model_validate({"id": "needs", "strategy": 3, "name": "n", "short_name": "n", "unit": "staff",
                                     "evidence": {"rule": "matches_survey_need"}, "targets": {2562: 50}})
    people = measure(data, [rule], 2562, vocabulary).people
    assert dict(zip(people["staff_id"], people["met"])) == {"A1": True, "A2": False, "A3": False, "A4": True}
