"""What the demo day is made of: the province's item catalogue, applicants, licences.

Every code here is a literal that passes its national check rule (GB 32100
credit codes, GB 11643 citizen ids, item implementation codes, GB/T 36904
e-licence ids). The check characters were computed once with
`caseledger.ledger.codes.identifiers`, which the command line may not import;
`tests/cli/demo/test_demo.py` parses every one of them with it, so a wrong
literal fails a test, not the demo.

The implementing bodies are illustrative; the divisions are real Shandong
ones (docs/domain.md, "The demo network").
"""

from __future__ import annotations

from dataclasses import dataclass

from caseledger.v1 import ledger_pb2
from caseledger.v1 import types_pb2 as t

PROVINCE = "370000000000"  # 山东省
JINAN = "370100000000"  # 济南市
LIXIA = "370102000000"  # 历下区
JIEFANGLU = "370102001000"  # 解放路街道
PINGYIN = "370124000000"  # 平阴县
DONGE = "370124102000"  # 东阿镇

# Implementing bodies (实施主体) and their unified social credit codes.
SHANDONG_DRUG_ADMINISTRATION = "11370000MB2851327R"  # 山东省药品监督管理局
JINAN_MARKET_REGULATION = "11370100MB28531487"  # 济南市市场监督管理局
LIXIA_APPROVAL_BUREAU = "11370102MB28590137"  # 历下区行政审批服务局
PINGYIN_APPROVAL_BUREAU = "11370124MB2862475B"  # 平阴县行政审批服务局
JIEFANGLU_OFFICE = "11370102MB2860387J"  # 解放路街道办事处
DONGE_GOVERNMENT = "11370124MB28640968"  # 东阿镇人民政府

# Implementation codes (实施编码): body credit code + exercising level + basic code.
DRUG_WHOLESALE = "11370000MB2851327R2370100310001"  # 药品经营许可（批发）, provincial
FOOD_PRODUCTION = "11370100MB285314873370100201001"  # 食品生产许可, city
FOOD_BUSINESS_LIXIA = "11370102MB285901374370100200001"  # 食品经营许可, county
FOOD_BUSINESS_PINGYIN = "11370124MB2862475B4370100200001"  # 食品经营许可, county
CONSTRUCTION_PERMIT = "11370124MB2862475B4370100512001"  # 建筑工程施工许可, county
SOLE_TRADER_JIEFANGLU = "11370102MB2860387J5370100130001"  # 个体工商户登记, township
SOLE_TRADER_DONGE = "11370124MB286409685370100130001"  # 个体工商户登记, township
RESIDENCE_PERMIT = "11370102MB2860387J5372000870001"  # 居住证签发, township


def _item(
    code: str,
    name: str,
    item_type: t.ItemType.ValueType,
    level: t.ExercisingLevel.ValueType,
    case_type: t.CaseType.ValueType,
    *,
    days: tuple[int, int],
    materials: tuple[str, ...],
) -> ledger_pb2.ItemTerms:
    statutory, promised = days
    return ledger_pb2.ItemTerms(
        implementation_code=code,
        name=name,
        item_type=item_type,
        exercising_level=level,
        case_type=case_type,
        statutory_days=statutory,
        promised_days=promised,
        required_materials=list(materials),
        issues_certificate=True,
    )


_LICENSING = t.ITEM_TYPE_LICENSING
_PROMISED = t.CASE_TYPE_PROMISED

CATALOGUE = (
    _item(
        DRUG_WHOLESALE,
        "药品经营许可证（批发）核发",
        _LICENSING,
        t.EXERCISING_LEVEL_PROVINCIAL,
        _PROMISED,
        days=(30, 15),
        materials=("药品经营许可证申请表", "质量管理文件目录", "仓储设施设备目录"),
    ),
    _item(
        FOOD_PRODUCTION,
        "食品生产许可证核发",
        _LICENSING,
        t.EXERCISING_LEVEL_CITY,
        _PROMISED,
        days=(20, 10),
        materials=("食品生产许可申请书", "生产设备布局图", "食品生产工艺流程图"),
    ),
    _item(
        FOOD_BUSINESS_LIXIA,
        "食品经营许可证核发",
        _LICENSING,
        t.EXERCISING_LEVEL_COUNTY,
        _PROMISED,
        days=(20, 10),
        materials=("食品经营许可申请书", "营业执照复印件", "经营场所平面图"),
    ),
    _item(
        FOOD_BUSINESS_PINGYIN,
        "食品经营许可证核发",
        _LICENSING,
        t.EXERCISING_LEVEL_COUNTY,
        _PROMISED,
        days=(20, 10),
        materials=("食品经营许可申请书", "营业执照复印件", "经营场所平面图"),
    ),
    _item(
        CONSTRUCTION_PERMIT,
        "建筑工程施工许可证核发",
        _LICENSING,
        t.EXERCISING_LEVEL_COUNTY,
        _PROMISED,
        days=(15, 7),
        materials=("建筑工程施工许可申请表", "建设工程规划许可证", "施工合同"),
    ),
    _item(
        SOLE_TRADER_JIEFANGLU,
        "个体工商户设立登记",
        _LICENSING,
        t.EXERCISING_LEVEL_TOWNSHIP,
        t.CASE_TYPE_IMMEDIATE,
        days=(15, 0),
        materials=("个体工商户登记申请书", "经营者身份证明"),
    ),
    _item(
        SOLE_TRADER_DONGE,
        "个体工商户设立登记",
        _LICENSING,
        t.EXERCISING_LEVEL_TOWNSHIP,
        t.CASE_TYPE_IMMEDIATE,
        days=(15, 0),
        materials=("个体工商户登记申请书", "经营者身份证明"),
    ),
    _item(
        RESIDENCE_PERMIT,
        "居住证签发",
        t.ITEM_TYPE_PUBLIC_SERVICE,
        t.EXERCISING_LEVEL_TOWNSHIP,
        _PROMISED,
        days=(15, 10),
        materials=("居住证申领登记表", "居民身份证", "合法稳定住所证明"),
    ),
)
"""Published by the province; it reaches every node of the network."""


@dataclass(frozen=True)
class Applicant:
    """Who applies (申请人): a natural person by citizen id, or an organisation by credit code."""

    name: str
    id_number: str
    phone: str
    address: str
    type: t.ApplicantType.ValueType = t.APPLICANT_TYPE_NATURAL_PERSON

    def message(self) -> ledger_pb2.Applicant:
        return ledger_pb2.Applicant(
            type=self.type,
            name=self.name,
            id_number=self.id_number,
            phone=self.phone,
            address=self.address,
        )


_ENTERPRISE = t.APPLICANT_TYPE_ENTERPRISE_LEGAL_PERSON

LUKANG_PHARMA = Applicant(
    "山东鲁康医药有限公司",
    "91370000MA3K5L6M70",
    "053188061234",
    "济南市高新区舜华路1号",
    _ENTERPRISE,
)
QUANCHENG_FOODS = Applicant(
    "济南泉城食品有限公司",
    "91370100MA3F2G3H48",
    "053186012345",
    "济南市历城区工业北路9号",
    _ENTERPRISE,
)
MINGHU_CATERING = Applicant(
    "济南明湖餐饮管理有限公司",
    "91370102MA3C4D5E6M",
    "053186923456",
    "济南市历下区泉城路180号",
    _ENTERPRISE,
)
DONGE_CONSTRUCTION = Applicant(
    "平阴县东阿建筑工程有限公司",
    "91370124MA3P7Q8R9A",
    "053187412345",
    "济南市平阴县东阿镇府前街8号",
    _ENTERPRISE,
)
ZHANG_WEI = Applicant("张伟", "370102198506123429", "13805311234", "济南市历下区解放路22号")
WANG_FANG = Applicant("王芳", "370124197809032114", "13906412345", "济南市平阴县榆山街道青龙路5号")
LI_NA = Applicant("李娜", "370102199211184026", "13791023456", "济南市历下区文化东路61号")
LIU_YANG = Applicant("刘洋", "370124199002156334", "15098734567", "济南市平阴县东阿镇南关街3号")
CHEN_JING = Applicant("陈静", "370102198707221519", "18653145678", "济南市历下区山大路47号")
ZHAO_LEI = Applicant("赵磊", "370124199510304241", "13573156789", "济南市平阴县东阿镇北街12号")

# Electronic licence ids (电子证照标识), GB/T 36904 practice, with their check characters.
DRUG_WHOLESALE_LICENCE = "1.2.156.3005.2.YPJY.11370000MB2851327R.37202600047.001.N"
FOOD_BUSINESS_LICENCE = "1.2.156.3005.2.JY.11370102MB28590137.23701020260318.001.Y"
CONSTRUCTION_LICENCE = "1.2.156.3005.2.SGXK.11370124MB2862475B.370124202600037.001.0"
# The business licence's serial is the new sole trader's own credit code.
JIEFANGLU_BUSINESS_LICENCE = "1.2.156.3005.2.YYZZ.11370102MB2860387J.92370102MA3T4U5W6A.001.K"
DONGE_BUSINESS_LICENCE = "1.2.156.3005.2.YYZZ.11370124MB28640968.92370124MA3N8P9Q11.001.X"

LICENCES = (
    DRUG_WHOLESALE_LICENCE,
    FOOD_BUSINESS_LICENCE,
    CONSTRUCTION_LICENCE,
    JIEFANGLU_BUSINESS_LICENCE,
    DONGE_BUSINESS_LICENCE,
)
APPLICANTS = (
    LUKANG_PHARMA,
    QUANCHENG_FOODS,
    MINGHU_CATERING,
    DONGE_CONSTRUCTION,
    ZHANG_WEI,
    WANG_FANG,
    LI_NA,
    LIU_YANG,
    CHEN_JING,
    ZHAO_LEI,
)
