# ELECTRA on BEiT-3's text branch with hardness-aware sampling and the focal generator loss (gamma 1, a choice).
_base_ = ['./electra_beit3-b-text_plain_text.py']
model = dict(sampler=dict(mode='hardness'), generator_loss=dict(gamma=1.0))
