"""Deshuffling: read the block's tokens in random order, write them in the original order."""

from __future__ import annotations

import torch

from benchmark import registry
from benchmark.objectives.base import EncoderDecoderObjective, Params


class DeshuffleParams(Params):
    pass  # a uniform shuffle of the whole block has no hyperparameters


def shuffle_tokens(input_ids: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Every row's tokens in an independent, uniformly random order."""
    order = torch.rand(input_ids.shape, generator=generator).argsort(1)
    return input_ids.gather(1, order)


@registry.objectives.register("deshuffle")
class Deshuffle(EncoderDecoderObjective):
    """T5's deshuffling baseline on an encoder-decoder: the input is the block's tokens shuffled, the target the block.

    Follows Raffel et al. 2020 (T5, sec. 3.3.1, Table 4), where deshuffling was the weakest of
    the three objective families (GLUE 73.17 vs 80.69 prefix LM and 82.96 BERT-style): a lower
    anchor for the comparison. The whole block is shuffled uniformly, ``[EOS]`` tokens included.
    Loss-bearing tokens: the whole block (seq_len per row); FLOPs count the encoder and the
    decoder each over the full block.
    """

    Params = DeshuffleParams

    def corrupt(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return shuffle_tokens(blocks["input_ids"], generator), blocks["input_ids"]

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        original = blocks["input_ids"]
        inputs, labels = batch["input_ids"].cpu(), batch["labels"].cpu()
        not_permutation = (inputs.sort(1).values != original.sort(1).values).any(1)
        return {
            "target_errors": (float((labels != original).any(1).sum()), 0.0),
            "permutation_errors": (float(not_permutation.sum()), 0.0),
            # a row left in its original order (by chance: prod(count_i!) / length!, i.e. never)
            "unshuffled_rows": (float((inputs == original).all(1).sum()), 0.0),
        }
