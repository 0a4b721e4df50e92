# CIM-RevDet with hardness-aware sampling of the generator's visual tokens (the shared beitmm.ReplacementSampler of
# text ELECTRA, Hao et al. 2021 mapped onto CIM): a beitmm.HardnessHead on the generator predicts, for every masked
# patch and candidate code, the enhancer's RevDet BCE; codes are drawn from q ∝ p_G · h and the enhancer's loss at
# masked patches is weighted by the self-normalised p_G / q. Derived form (the paper's exact one was not checkable);
# hardness_power 1 and the head's loss weight 1 are beitmm choices. Everything else as CIM-RevDet.
_base_ = ['./cim-revdet_vit-b_300e_in1k.py']
model = dict(sampler=dict(mode='hardness', hardness_power=1.0, importance_weight=True),
             hardness_head=dict(loss_weight=1.0))
