from benchmark.data.packing import pack

EOS = 99


def test_pack_keeps_every_token_in_order_and_closes_documents():
    docs = [[[1, 2, 3], [4, 5]], [[6, 7, 8, 9]], [[10], [11, 12], [13]]]
    blocks = pack(docs, seq_len=4, eos_id=EOS)
    stream = [1, 2, 3, 4, 5, EOS, 6, 7, 8, 9, EOS, 10, 11, 12, 13, EOS]
    assert blocks.input_ids.shape == (4, 4)
    assert blocks.input_ids.flatten().tolist() == stream


def test_pack_has_no_padding_and_drops_the_partial_tail():
    docs = [[[1, 2, 3]], [[4, 5, 6]]]  # 8 tokens with EOS: one block of 5, 3 left over
    blocks = pack(docs, seq_len=5, eos_id=EOS)
    assert blocks.input_ids.tolist() == [[1, 2, 3, EOS, 4]]


def test_pack_carries_document_and_sentence_ids():
    docs = [[[1, 2], [3]], [[4, 5, 6]]]
    blocks = pack(docs, seq_len=8, eos_id=EOS)
    assert blocks.input_ids.tolist() == [[1, 2, 3, EOS, 4, 5, 6, EOS]]
    assert blocks.document_ids.tolist() == [[0, 0, 0, 0, 1, 1, 1, 1]]
    assert blocks.sentence_ids.tolist() == [[0, 0, 1, 1, 2, 2, 2, 2]]
