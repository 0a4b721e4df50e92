# s2s-ft causal fine-tuning (v0, "position shift"): source without the trailing [SEP], target input "[SEP] tgt",
# each target token predicts the next; input target tokens after the first corrupted with target_mask_prob 0.5
# (s2s-ft's default, issue #581); decoding feeds the previous token alone (--pos_shift). Recipe as the pseudo-masked
# XSum config (a beitmm choice). No official number.
_base_ = ['./s2s-ft-pseudo-masked_unilm1.2-b_xsum.py']
model = dict(algorithm='causal')
