# ELECTRA-Small with hardness-aware replacement sampling (Hao et al. 2021): a hardness head on the generator
# predicts the discriminator's loss of every candidate token; tokens are drawn from q ∝ p_G · h (hardness_power 1,
# the variance-minimising proposal of the derivation; the paper's exact form could not be checked), and the
# discriminator's loss at each masked token is weighted by the self-normalised p_G / q (a choice). The hardness
# head starts flat (predicts ln 2 for every candidate: plain sampling) and regresses the actual per-token loss (MSE).
_base_ = ['./electra-small_plain_text.py']
model = dict(sampler=dict(mode='hardness', hardness_power=1.0, importance_weight=True),
             hardness_head=dict(loss_weight=1.0))  # (choice)
