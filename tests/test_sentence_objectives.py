"""The sentence-level objectives: whole sentences only, lead and principal selection, the realized ratio,
and next-sentence generation's loss on exactly the following sentence.

Hand-made blocks give exact expectations; the tiny corpus packed at 128 tokens gives blocks that
cross document boundaries, checked against a plain reading of the per-token sentence ids.
"""

from __future__ import annotations

import pytest
import torch

from benchmark.objectives.base import IGNORE
from benchmark.objectives.sentence_selection import block_sentences, principal_scores, select_sentences
from tests.helpers import longer_blocks, make

SELECTIONS = ["random", "lead", "principal"]
RATIO_TOLERANCE = 0.01  # realized vs configured ratio over ~13k sentences: about 6 standard errors


def hand_block(pieces: list[tuple[int, list[int], bool]], eos_id: int) -> dict[str, torch.Tensor]:
    """One block from (document, token ids, closes its document) pieces, one piece per sentence, in order.

    The first piece plays the sentence cut by the block's start; a last piece without ``[EOS]``
    plays the one cut by its end. Sentence ids are numbered from 40, as if the stream began earlier.
    """
    input_ids, document_ids, sentence_ids = [], [], []
    for number, (document, tokens, closes) in enumerate(pieces):
        tokens = tokens + ([eos_id] if closes else [])
        input_ids += tokens
        document_ids += [document] * len(tokens)
        sentence_ids += [40 + number] * len(tokens)
    return {"input_ids": torch.tensor([input_ids]), "document_ids": torch.tensor([document_ids]),
            "sentence_ids": torch.tensor([sentence_ids])}


@pytest.fixture
def word(tiny_setup):
    """Ordinary token ids by letter: ``word("a")``."""
    first = tiny_setup.first_regular_id
    return lambda letters: [first + ord(letter) - ord("a") for letter in letters.split()]


def principal_block(word, eos_id):
    """Document 7 (cut at the start, closed inside the block) then document 8 (cut at the end).

    ROUGE-1 F1 = 2 x clipped overlap / counted tokens of the document (19 for document 7):
    k2 "a b e" overlaps a, b: 4/19; k3 "a a b c" overlaps a, a, b, c: 8/19; k4 "a b c": 6/19;
    k6 "a a b c" is the same text as k3, but in document 8, whose rest is "q r": 0.
    """
    return hand_block([(7, word("p"), False), (7, word("f g h x y z"), False), (7, word("a b e"), False),
                       (7, word("a a b c"), False), (7, word("a b c"), False), (7, word("i j"), True),
                       (8, word("a a b c"), False), (8, word("q r"), False)], eos_id)


def whole_sentences_by_reading(block_ids: list[int], sentence_ids: list[int], eos_id: int) -> dict[int, list[int]]:
    """Sentence id -> positions, for the sentences that lie entirely inside one block row, read plainly."""
    positions: dict[int, list[int]] = {}
    for position, sentence in enumerate(sentence_ids):
        positions.setdefault(sentence, []).append(position)
    last = len(block_ids) - 1
    return {s: p for s, p in positions.items()
            if p[0] > 0 and (p[-1] < last or block_ids[last] == eos_id)}


# --- (a) whole sentences only, on packed blocks that cross document boundaries -----------------------

@pytest.fixture(scope="module")
def packed_128(tiny_data):
    blocks = longer_blocks(tiny_data, None, 128)
    crossing = blocks["document_ids"][:, 0] != blocks["document_ids"][:, -1]
    assert crossing.float().mean() > 0.5, "the test needs blocks that cross document boundaries"
    return blocks


@pytest.mark.parametrize("selection", SELECTIONS)
def test_gap_sentences_removes_whole_sentences_only(selection, packed_128, tiny_setup):
    """Encoder input and targets equal what a plain reading of the sentence ids gives for the chosen sentences."""
    tok = tiny_setup.tokenizer
    objective = make("gap_sentences", tiny_setup, selection=selection)
    batch = objective.prepare(packed_128, torch.Generator().manual_seed(3))
    sentences = block_sentences(packed_128, tok.eos_token_id)
    selected = select_sentences(packed_128, sentences, selection, 0.3, tiny_setup.special_ids,
                                torch.Generator().manual_seed(3))  # the draw prepare made
    removed_documents_after_the_first = 0
    for row in range(packed_128["input_ids"].shape[0]):
        ids = packed_128["input_ids"][row].tolist()
        sentence_ids = packed_128["sentence_ids"][row].tolist()
        whole = whole_sentences_by_reading(ids, sentence_ids, tok.eos_token_id)
        chosen = {sentence_ids[0] + k for k in selected[row].nonzero().flatten().tolist()}
        assert chosen <= set(whole), f"row {row}: a removed sentence is cut by the block's edge"
        expected_input, expected_target = [], []
        for sentence in sorted(set(sentence_ids)):
            tokens = [ids[p] for p in range(len(ids)) if sentence_ids[p] == sentence]
            text = [t for t in tokens if t != tok.eos_token_id]
            if sentence in chosen:
                expected_input.append(tok.mask_token_id)
                expected_target += text
                removed_documents_after_the_first += packed_128["document_ids"][row, whole[sentence][0]] != \
                    packed_128["document_ids"][row, 0]
            else:
                expected_input += text
            expected_input += tokens[len(text):]  # a document's [EOS] stays in the input
        inputs = batch["input_ids"][row]
        labels = batch["labels"][row]
        assert inputs[inputs != tok.pad_token_id].tolist() == expected_input
        assert labels[labels != IGNORE].tolist() == expected_target + [tok.eos_token_id]
    assert removed_documents_after_the_first > 0, "no sentence was removed past a document boundary"


@pytest.mark.parametrize("selection", SELECTIONS)
def test_masked_sentence_masks_whole_sentences_only(selection, packed_128, tiny_setup):
    tok = tiny_setup.tokenizer
    objective = make("masked_sentence", tiny_setup, selection=selection)
    batch = objective.prepare(packed_128, torch.Generator().manual_seed(4))
    masked_sentences = 0
    for row in range(packed_128["input_ids"].shape[0]):
        ids = packed_128["input_ids"][row].tolist()
        sentence_ids = packed_128["sentence_ids"][row].tolist()
        whole = whole_sentences_by_reading(ids, sentence_ids, tok.eos_token_id)
        masked = (batch["labels"][row] != IGNORE).tolist()
        for sentence in set(sentence_ids):
            text = [p for p in range(len(ids)) if sentence_ids[p] == sentence and ids[p] != tok.eos_token_id]
            hits = sum(masked[p] for p in text)
            assert hits in (0, len(text)), f"row {row}: sentence {sentence} is masked in part"
            if hits:
                assert sentence in whole, f"row {row}: sentence {sentence} is cut by the block's edge"
                assert all(batch["input_ids"][row, p] == tok.mask_token_id for p in text)
                assert [batch["labels"][row, p].item() for p in text] == [ids[p] for p in text]
                masked_sentences += 1
    assert masked_sentences > 100


@pytest.mark.parametrize("unit", ["sentence", "document"])
def test_next_sentence_generation_reads_and_predicts_whole_sentences(unit, packed_128, tiny_setup):
    tok = tiny_setup.tokenizer
    objective = make("next_sentence_generation", tiny_setup, unit=unit)
    batch = objective.prepare(packed_128, torch.Generator().manual_seed(5))
    rows, seq = packed_128["input_ids"].shape
    targets = 0
    for row in range(rows):
        ids = packed_128["input_ids"][row].tolist()
        sentence_ids = packed_128["sentence_ids"][row].tolist()
        documents = packed_128["document_ids"][row].tolist()
        whole = whole_sentences_by_reading(ids, sentence_ids, tok.eos_token_id)
        scored = (batch["labels"][row] != IGNORE).nonzero().flatten().tolist()
        if not scored:
            continue
        targets += 1
        prefix = int(batch["prefix_lengths"][row])
        start = next(s for s in range(seq) if batch["input_ids"][row].tolist() == ids[s:] + ids[:s])
        target_sentence = sentence_ids[start + prefix]
        # the loss falls on exactly that sentence, and it is whole
        assert target_sentence in whole
        assert [start + p + 1 for p in scored] == whole[target_sentence]
        # the prefix is whole sentences that end right before it
        prefix_sentences = set(sentence_ids[start:start + prefix])
        assert prefix_sentences <= set(whole) and sentence_ids[start - 1] != sentence_ids[start]
        assert max(prefix_sentences) == target_sentence - 1
        prefix_documents = set(documents[start:start + prefix])
        assert len(prefix_documents) == 1
        if unit == "sentence":
            assert prefix_documents == {documents[start + prefix]}
        else:
            assert ids[start + prefix - 1] == tok.eos_token_id
            assert documents[start + prefix] == documents[start + prefix - 1] + 1
    assert targets > rows // 2


# --- (b) lead, (c) principal ---------------------------------------------------------------------------

def test_lead_picks_the_openings_of_the_documents_that_start_in_the_block(tiny_setup, word):
    """Documents 0 (begun in an earlier block), 1 and 2 (opening here): 8 whole sentences, k1..k8."""
    tok = tiny_setup.tokenizer
    block = hand_block([(0, word("p"), False), (0, word("a b"), False), (0, word("c d"), True),
                        (1, word("e f"), False), (1, word("g h"), False), (1, word("i j"), True),
                        (2, word("k l"), False), (2, word("m n"), False), (2, word("o q"), False),
                        (2, word("r s"), False)], tok.eos_token_id)
    # 0.25 x 8 = 2 sentences: the openings of documents 1 and 2, not a sentence of document 0
    two = make("gap_sentences", tiny_setup, selection="lead", gap_ratio=0.25).prepare(block, torch.Generator())
    assert two["labels"][0].tolist() == word("e f") + word("k l") + [tok.eos_token_id]
    mask = tok.mask_token_id
    assert two["input_ids"][0].tolist() == (word("p a b c d") + [tok.eos_token_id, mask] + word("g h i j")
                                            + [tok.eos_token_id, mask] + word("m n o q r s"))
    # 0.375 x 8 = 3: then the first whole sentence of document 0, before the second ones of 1 and 2
    three = make("masked_sentence", tiny_setup, selection="lead", mask_ratio=0.375).prepare(block, torch.Generator())
    labels = three["labels"][0]
    assert labels[labels != IGNORE].tolist() == word("a b") + word("e f") + word("k l")


def test_principal_scores_are_rouge1_f1_against_the_rest_of_the_document(tiny_setup, word):
    block = principal_block(word, tiny_setup.tokenizer.eos_token_id)
    sentences = block_sentences(block, tiny_setup.tokenizer.eos_token_id)
    scores = principal_scores(block, sentences, tiny_setup.special_ids)
    expected = torch.tensor([[0, 0, 4 / 19, 8 / 19, 6 / 19, 0, 0, 0]], dtype=torch.float64)
    assert torch.allclose(scores, expected)


def test_principal_picks_the_sentences_that_best_summarise_their_document(tiny_setup, word):
    """Whole sentences k1..k6; 1/3 of them is 2: k3 (8/19) and k4 (6/19), though k6 repeats k3's text."""
    tok = tiny_setup.tokenizer
    block = principal_block(word, tok.eos_token_id)
    gaps = make("gap_sentences", tiny_setup, gap_ratio=1 / 3).prepare(block, torch.Generator())
    assert gaps["labels"][0].tolist() == word("a a b c") + word("a b c") + [tok.eos_token_id]
    masked = make("masked_sentence", tiny_setup, mask_ratio=1 / 3).prepare(block, torch.Generator())
    positions = (masked["labels"][0] != IGNORE).nonzero().flatten().tolist()
    assert positions == list(range(10, 17))  # p + "f g h x y z" + "a b e" = 10 tokens before k3, 7 in k3 k4
    lead = make("gap_sentences", tiny_setup, gap_ratio=1 / 3, selection="lead").prepare(block, torch.Generator())
    assert lead["labels"][0].tolist() == word("f g h x y z") + word("a a b c") + [tok.eos_token_id]


def test_a_sentence_cut_by_either_edge_is_never_picked(tiny_setup, word):
    """Only k0 and k2 are cut (block start, block end without [EOS]): k1 is the one whole sentence."""
    tok = tiny_setup.tokenizer
    block = hand_block([(0, word("a b c"), False), (0, word("d e"), False), (0, word("a b c a b c"), False)],
                       tok.eos_token_id)
    for seed in range(20):
        gaps = make("gap_sentences", tiny_setup, gap_ratio=0.9).prepare(block, torch.Generator().manual_seed(seed))
        assert gaps["labels"][0].tolist() in ([tok.eos_token_id], word("d e") + [tok.eos_token_id])
    ends_with_eos = hand_block([(0, word("a"), False), (0, word("d e"), True)], tok.eos_token_id)
    sentences = block_sentences(ends_with_eos, tok.eos_token_id)
    assert sentences.whole[0].tolist() == [False, True]  # the last sentence ends on the block's end with its [EOS]


# --- (d) the realized ratio ------------------------------------------------------------------------------

@pytest.mark.parametrize("ratio", [0.3, 0.15])
@pytest.mark.parametrize("selection", SELECTIONS)
def test_realized_ratio_matches_the_configured_one(ratio, selection, packed_128, tiny_setup):
    """Chosen / whole sentences over 117 blocks x 20 draws is the configured ratio to within RATIO_TOLERANCE.

    A block holds about 6 whole sentences; rounding ratio x 6 per block instead of rounding at
    random would miss 0.3 by 0.03 or more.
    """
    tok = tiny_setup.tokenizer
    sentences = block_sentences(packed_128, tok.eos_token_id)
    candidates = int(sentences.text_mask.sum())
    gaps = make("gap_sentences", tiny_setup, selection=selection, gap_ratio=ratio)
    masks = make("masked_sentence", tiny_setup, selection=selection, mask_ratio=ratio)
    removed = masked = 0
    for seed in range(20):
        batch = gaps.prepare(packed_128, torch.Generator().manual_seed(seed))
        removed += int((batch["input_ids"] == tok.mask_token_id).sum())  # one [MASK] per removed sentence
        labels = masks.prepare(packed_128, torch.Generator().manual_seed(seed))["labels"]
        masked += len(packed_128["sentence_ids"][labels != IGNORE].unique())  # ids are unique in the corpus
    assert abs(removed / (20 * candidates) - ratio) < RATIO_TOLERANCE
    assert abs(masked / (20 * candidates) - ratio) < RATIO_TOLERANCE


# --- (e) next-sentence generation's loss -------------------------------------------------------------------

def nsg_block(word, eos_id):
    """Document 0: k0 cut, k1, k2, k3 closing it; document 1: k4 opening it, k5 cut by the block's end."""
    return hand_block([(0, word("p q"), False), (0, word("a b c"), False), (0, word("d e"), False),
                       (0, word("f g h i"), True), (1, word("j k"), False), (1, word("l m n"), False)], eos_id)


def test_next_sentence_loss_covers_exactly_the_following_sentence(tiny_setup, word):
    tok = tiny_setup.tokenizer
    block = nsg_block(word, tok.eos_token_id)
    objective = make("next_sentence_generation", tiny_setup)
    seen = set()
    for seed in range(30):
        batch = objective.prepare(block, torch.Generator().manual_seed(seed))
        labels, prefix = batch["labels"][0], int(batch["prefix_lengths"][0])
        scored = (labels != IGNORE).nonzero().flatten().tolist()
        prefix_text = batch["input_ids"][0, :prefix].tolist()
        target = labels[labels != IGNORE].tolist()
        # k2 after k1, or k3 (with the [EOS] that closes its document) after k1 k2; never k4, which opens document 1
        assert (prefix_text, target) in [(word("a b c"), word("d e")),
                                         (word("a b c d e"), word("f g h i") + [tok.eos_token_id])]
        assert scored == list(range(prefix - 1, prefix - 1 + len(target)))
        seen.add(len(target))
    assert seen == {2, 5}, "both candidate targets are drawn"


def test_document_variant_predicts_the_next_documents_opening(tiny_setup, word):
    tok = tiny_setup.tokenizer
    block = nsg_block(word, tok.eos_token_id)
    batch = make("next_sentence_generation", tiny_setup, unit="document").prepare(block, torch.Generator())
    labels, prefix = batch["labels"][0], int(batch["prefix_lengths"][0])
    assert prefix == 10  # k1 k2 k3 and document 0's [EOS]
    assert batch["input_ids"][0, :prefix].tolist() == word("a b c d e f g h i") + [tok.eos_token_id]
    assert labels[labels != IGNORE].tolist() == word("j k")
    assert (labels != IGNORE).nonzero().flatten().tolist() == [9, 10]
    # the tokens the block held before the prefix come after the target, unseen by it and without loss
    assert batch["input_ids"][0, prefix + 2:].tolist() == word("l m n p q")


def test_a_block_without_two_whole_sentences_bears_no_next_sentence_loss(tiny_setup, word):
    tok = tiny_setup.tokenizer
    block = hand_block([(0, word("a b"), False), (0, word("c d"), False), (0, word("e f"), False)], tok.eos_token_id)
    objective = make("next_sentence_generation", tiny_setup)
    batch = objective.prepare(block, torch.Generator())
    assert (batch["labels"] == IGNORE).all() and batch["prefix_lengths"].tolist() == [0]
    assert torch.equal(batch["input_ids"], block["input_ids"])
    torch.manual_seed(0)
    out = objective.loss(objective.build(), batch)
    assert out.loss_bearing_tokens == 0 and out.loss.item() == 0.0
