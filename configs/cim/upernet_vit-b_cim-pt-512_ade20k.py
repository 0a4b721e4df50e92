# UperNet + CIM ViT-B enhancer on ADE20K, 512 x 512, 160k iterations, from self-supervised weights only (BEiT's
# recipe for that case: lr 7e-4, layer decay 0.65). The enhancer's shared relative position bias is expanded per
# layer and resized from 14 x 14 to 32 x 32 at load time; generator keys are ignored.
_base_ = ['../beit/upernet_beit-b_512_ade20k.py']
model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained', checkpoint='work_dirs/cim-respix_vit-b_300e_in1k/epoch_300.pth', prefix='backbone.')))
