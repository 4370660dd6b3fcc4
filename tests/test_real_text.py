"""Real text read and written faithfully, on the real samples in tests/fixtures: the default tokenizer
is lossless, SQuAD's long contexts lose no answer to truncation, and a translation that is known
to be right scores as right, cased and in full."""

from __future__ import annotations

from types import SimpleNamespace

import datasets
import pytest
import torch
from transformers import PreTrainedTokenizerFast

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import tokenizer as tokenization
from benchmark.formats import extractive_qa, generation, translation
from benchmark.formats.extractive_qa import gold_answers
from benchmark.formats.text_metrics import answer_scores
from benchmark.models.kinds import ModelKind
from tests import test_data_sources
from tests.real_fixtures import lines, rows, texts, write_mirrors

offline = test_data_sources.offline  # autouse: no network, an empty datasets cache
hub_mirror = test_data_sources.hub_mirror

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def wiki_tokenizer():
    """The default tokenizer, trained as a suite trains it, on the WikiText sample alone (8192 entries)."""
    text = [line for line in lines("wikitext/train.txt") if line.strip()]
    return tokenization.train_tokenizer(text, 8192)


def test_the_default_tokenizer_decodes_every_real_text_back_to_itself(wiki_tokenizer):
    every = texts()
    assert len(every) > 3000 and any("ș" in t or "ş" in t for t in every) and any(t != t.lower() for t in every)
    ids = wiki_tokenizer(every, add_special_tokens=False)["input_ids"]
    lost = [(t, wiki_tokenizer.decode(i)) for t, i in zip(every, ids) if wiki_tokenizer.decode(i) != t]
    assert lost == []  # accents, case, spacing and punctuation included, and letters it never saw in training
    assert wiki_tokenizer.unk_token_id not in {token for row in ids for token in row}


def test_an_existing_tokenizer_gets_the_special_tokens_it_lacks_after_its_own_ids(tmp_path):
    own = tokenization.train_tokenizer(["a few words of text to learn from"] * 20, 300)
    # A tokenizer saved without the project's roles: only an end token.
    plain = PreTrainedTokenizerFast(tokenizer_object=own.backend_tokenizer, eos_token="[EOS]")
    plain.save_pretrained(tmp_path / "plain")
    tok = tokenization.existing(str(tmp_path / "plain"))
    assert tok.eos_token == "[EOS]" and tok.convert_tokens_to_ids("[EOS]") == own.convert_tokens_to_ids("[EOS]")
    for role in tokenization.ROLES:
        assert getattr(tok, f"{role}_id") is not None, role
    assert all(tok.convert_tokens_to_ids(t) != tok.unk_token_id for t in tokenization.SENTINELS)
    text = "Ana are mere, ș și ț."
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


@pytest.fixture
def squad(hub_mirror) -> datasets.DatasetDict:
    """The SQuAD sample through the ``squad`` task's own loader, from a mirror in the Hub's layout."""
    write_mirrors(hub_mirror)
    task = registry.tasks.get("squad")
    return task(task.Params()).load(CorpusConfig())


class GoldSpanHead(torch.nn.Module):
    """A span head that knows the answers: it peaks at the gold tokens of every window that holds them."""

    def __init__(self, data: dict, pad_id: int):
        super().__init__()
        self.gold = {tuple(t for t in row if t != pad_id): tuple(g)
                     for row, g in zip(data["input_ids"].tolist(), data["gold"].tolist())}
        self.pad_id = pad_id

    def forward(self, input_ids, attention_mask):
        start, end = torch.zeros(input_ids.shape), torch.zeros(input_ids.shape)
        for i, row in enumerate(input_ids.tolist()):
            first, last = self.gold[tuple(t for t in row if t != self.pad_id)]
            if first >= 0:
                start[i, first], end[i, last] = 20.0, 20.0
        return SimpleNamespace(start_logits=start, end_logits=end)


def gold_token_texts(data: dict, split) -> dict[int, str]:
    """Per question, the context's text under its gold tokens in the first window that holds them: the answer
    itself, unless the answer starts or ends inside a token (SQuAD's "4" of "49"), where no token span can
    be cut closer."""
    out = {}
    for row in torch.nonzero(data["gold"][:, 0] >= 0).flatten().tolist():
        i, first, (start, end) = int(data["example"][row]), int(data["context_start"][row]), data["gold"][row].tolist()
        offsets = data["offsets"][row]
        out.setdefault(i, split[i]["context"][offsets[start - first][0]:offsets[end - first][1]])
    return out


def test_squad_at_128_tokens_loses_no_answer_and_finds_spans_in_later_windows(wiki_tokenizer, squad):
    test = squad["test"]
    assert len(test) == len(rows("squad/validation.jsonl")) and max(map(len, test["context"])) > 2000
    data = extractive_qa.encode(test, wiki_tokenizer, 128)
    assert data["outside"] == 0  # every answer lies whole in some window
    opening = {}
    for row, i in enumerate(data["example"].tolist()):
        opening.setdefault(i, row)
    held = data["gold"][:, 0] >= 0
    late = sorted({int(i) for i in data["example"][held]} - {i for i, row in opening.items() if held[row]})
    assert len(late) >= 20  # answers past the first window: a single window would have lost them
    texts_ = gold_token_texts(data, test)
    aligned = [i for i, text in texts_.items() if text == test[i]["answer"]]
    assert len(aligned) > 0.95 * len(test)
    recipe = SimpleNamespace(max_length=128, batch_size=8)
    fmt = registry.formats.get("extractive_qa")()
    metrics, stats = fmt.evaluate(GoldSpanHead(data, wiki_tokenizer.pad_token_id), test, wiki_tokenizer, recipe,
                                  ModelKind.ENCODER, CPU, "fp32")
    assert stats["answers_outside_windows"] == 0 and stats["span_logprob_skipped"] == 0
    assert stats["windows"] == len(data["gold"]) > len(test)
    # Every question is answered from its gold tokens, but for an answer longer than the longest span
    # predicted (one here: 111 characters, 43 tokens), as in the HF examples' max_answer_length.
    lengths = data["gold"][:, 1] - data["gold"][:, 0] + 1
    too_long = {int(i) for i in data["example"][held & (lengths > extractive_qa.MAX_ANSWER_TOKENS)]}
    assert len(too_long) <= 0.01 * len(test)
    best = answer_scores([texts_[i] for i in range(len(test))], gold_answers(test))
    for name in ("exact_match", "f1"):
        assert best[name] - len(too_long) / len(test) - 1e-9 <= metrics[name] <= best[name] + 1e-9
    assert metrics["exact_match"] > 0.95
    # Answers found in a later window, cut from the original context through that window's offsets.
    later = test.select([i for i in late if i in aligned])
    assert len(later) >= 20
    metrics, _ = fmt.evaluate(GoldSpanHead(extractive_qa.encode(later, wiki_tokenizer, 128),
                                           wiki_tokenizer.pad_token_id), later, wiki_tokenizer, recipe,
                              ModelKind.ENCODER, CPU, "fp32")
    assert metrics["exact_match"] == 1.0


def test_training_uses_every_window_that_holds_the_answer(wiki_tokenizer, squad):
    train = squad["train"]
    data = extractive_qa.encode(train, wiki_tokenizer, 128)
    held = data["gold"][:, 0] >= 0
    assert data["outside"] == 0 and set(data["example"][held].tolist()) == set(range(len(train)))
    for row in torch.nonzero(held).flatten().tolist():  # the gold tokens spell the answer, in that window
        first, (start, end) = int(data["context_start"][row]), data["gold"][row].tolist()
        offsets, i = data["offsets"][row], int(data["example"][row])
        answer_start = train[i]["answer_start"]
        span = (offsets[start - first][0], offsets[end - first][1])  # the tokens cover the answer's characters
        assert span[0] <= answer_start and span[1] >= answer_start + len(train[i]["answer"])
        assert span[1] - span[0] < len(train[i]["answer"]) + 20


class CopyModel(torch.nn.Module):
    """A decoder that knows the answer: it writes its prompt's source back, then ``[EOS]``, through the key-value
    cache interface that greedy decoding drives (a copy task, whose right output is the input)."""

    def __init__(self, vocab: int, eos: int, pad: int):
        super().__init__()
        self.vocab, self.eos, self.pad = vocab, eos, pad

    def _logits(self, tokens: list[int]) -> torch.Tensor:
        return torch.nn.functional.one_hot(torch.tensor(tokens), self.vocab).float()[:, None, :]

    def forward(self, input_ids, attention_mask, position_ids, use_cache, cache=None):
        if cache is None:  # the prompt: each row's source tokens, before its [SEP]
            sources = [[t for t in row if t != self.pad][:-1] for row in input_ids.tolist()]
            cache = {"sources": sources, "step": 0}
        else:
            cache = {**cache, "step": cache["step"] + 1}
        step = cache["step"]
        return SimpleNamespace(logits=self._logits([s[step] if step < len(s) else self.eos for s in cache["sources"]]),
                               cache=cache)


def test_a_copy_of_real_romanian_scores_cased_chrf_100_and_no_output_reaches_its_cap(wiki_tokenizer):
    sources = [r["translation"]["ro"] for r in rows("wmt16_ro_en/validation.jsonl")]
    assert sum(any(ord(c) > 127 for c in s) for s in sources) > 90
    tok, max_length = wiki_tokenizer, 512
    model = CopyModel(len(tok), tok.eos_token_id, tok.pad_token_id)
    caps, ceiling = translation.new_token_caps(sources, tok, ModelKind.CAUSAL, max_length)
    generated = generation.greedy_decode(model, sources, tok, ModelKind.CAUSAL, max_length, caps, 16, CPU, "fp32")
    assert all(len(ids) < cap for ids, cap in zip(generated, caps))  # each stopped at [EOS], none at its cap
    assert ceiling == max_length and max(caps) < max_length
    hypotheses = [generation.decode_text(tok, ids) for ids in generated]
    metrics, signatures = translation.translation_metrics(hypotheses, sources)
    assert metrics["chrf"] >= 95 and metrics["bleu"] >= 95
    assert signatures["chrf_signature"].startswith("nrefs:1|case:mixed|")
    assert hypotheses == sources  # and in fact exactly the text


def test_a_cap_shorter_than_the_copy_cuts_it_and_is_counted(wiki_tokenizer):
    sources = [r["translation"]["ro"] for r in rows("wmt16_ro_en/validation.jsonl")][:8]
    tok = wiki_tokenizer
    model = CopyModel(len(tok), tok.eos_token_id, tok.pad_token_id)
    caps = [5] * len(sources)
    generated = generation.greedy_decode(model, sources, tok, ModelKind.CAUSAL, 512, caps, 4, CPU, "fp32")
    assert [len(ids) for ids in generated] == caps
    assert [tok.decode(ids) for ids in generated] == [tok.decode(tok(s, add_special_tokens=False)["input_ids"][:5])
                                                      for s in sources]


def test_a_suite_with_a_pretrained_tokenizer_packs_with_it_and_knows_it_by_its_content(tmp_path):
    from benchmark.config import validate_suite
    from benchmark.data import corpus
    from benchmark.errors import ObjbenchError
    from tests.helpers import tiny_raw

    trained = corpus.prepare(validate_suite(tiny_raw(tmp_path)))
    trained.tokenizer.save_pretrained(tmp_path / "existing")
    raw = tiny_raw(tmp_path, tokenizer={"pretrained": str(tmp_path / "existing")})
    data = corpus.prepare(validate_suite(raw))
    assert data.tokenizer_id != trained.tokenizer_id and not data.tokenizer_cached
    assert data.tokenizer.get_vocab() == trained.tokenizer.get_vocab()
    assert torch.equal(data.blocks.input_ids, trained.blocks.input_ids)  # the same tokenizer packs the same blocks
    again = corpus.prepare(validate_suite(raw))
    assert again.tokenizer_cached and again.tokenizer_id == data.tokenizer_id
    changed = PreTrainedTokenizerFast.from_pretrained(str(tmp_path / "existing"))
    changed.add_tokens(["glenundon"])
    changed.save_pretrained(tmp_path / "existing")  # the same path, other content: another tokenizer
    assert corpus.prepare(validate_suite(raw)).tokenizer_id != data.tokenizer_id
    with pytest.raises(ObjbenchError, match="vocab_size: a setting of a trained tokenizer"):
        validate_suite(tiny_raw(tmp_path, tokenizer={"pretrained": "gpt2", "vocab_size": 512}))
