"""The demo day's cases, one story each, at every level of the network.

Each story is what a service window and its back office would do with one
application; `STORIES` runs them in order. Operator ids name the desk
(`lixia.window.03`); roles are the ones the ledger records.
"""

from __future__ import annotations

from collections.abc import Callable

import caseledger.cli.demo.catalogue as c
from caseledger.cli.demo.day import Day, licence_file, material
from caseledger.v1 import ledger_pb2
from caseledger.v1 import types_pb2 as t

_PASS = t.STEP_ACTION_PASS
_APPROVED = t.CONCLUSION_RESULT_APPROVED


def _years_later(day: Day, years: int) -> str:
    today = day.today
    return today.replace(year=today.year + years, day=min(today.day, 28)).isoformat()


def province_site_check(day: Day) -> None:
    """药品经营许可（批发）online at the province, with a site check (实地核查)."""
    story = "site check (实地核查)"
    online = day.desk(c.PROVINCE, "sd.online.01")
    number = online.submit(story, c.DRUG_WHOLESALE, t.SUBMISSION_CHANNEL_ONLINE, c.LUKANG_PHARMA)
    online.do("PassPreReview", number, opinion="材料齐全，格式符合要求")
    year = day.today.year
    online.do("Accept", number, notice_no=f"鲁药监受〔{year}〕0412号")
    review = day.desk(c.PROVINCE, "sd.review.02", "reviewer")
    review.do(
        "RecordStep", number, step="审查", handler="孙立", opinion="需核查仓储条件", action=_PASS
    )
    review.do(
        "StartSpecialProcedure",
        number,
        kind=t.SPECIAL_PROCEDURE_KIND_SITE_CHECK,
        reason="现场核查仓库温湿度监测与药品追溯系统（GSP）",
    )
    review.do("EndSpecialProcedure", number, outcome="仓储设施与温湿度监测符合GSP要求")
    approve = day.desk(c.PROVINCE, "sd.approve.01", "approver")
    approve.do("RecordStep", number, step="审批", handler="周明", opinion="同意", action=_PASS)
    approve.do("Conclude", number, result=_APPROVED, decision_no=f"鲁药监许〔{year}〕0388号")
    approve.do(
        "IssueCertificate",
        number,
        licence_id=c.DRUG_WHOLESALE_LICENCE,
        file_sha256=licence_file(c.DRUG_WHOLESALE_LICENCE),
        valid_from=day.today.isoformat(),
        valid_until=_years_later(day, 5),
    )
    online.do(
        "DispatchByMail",
        number,
        carrier="中国邮政EMS",
        tracking_no="1180453398837",
        address=c.LUKANG_PHARMA.address,
    )
    online.do("ConfirmDelivery", number, signer="鲁康医药收发室", received_on=day.today.isoformat())
    _rate(day, c.PROVINCE, number, t.SATISFACTION_VERY_SATISFIED, t.RATING_CHANNEL_PC)


def city_correction_cycle(day: Day) -> None:
    """食品生产许可 at the city window, with one correction request (补齐补正);
    accepted 8 working days ago, so the promised limit is near (预警)."""
    story = "correction cycle (补齐补正)"
    window = day.desk(c.JINAN, "jn.window.05")
    number = window.submit(
        story,
        c.FOOD_PRODUCTION,
        t.SUBMISSION_CHANNEL_WINDOW,
        c.QUANCHENG_FOODS,
        at=day.days_ago(11, 9, 20),
    )
    window.do(
        "RequestCorrection",
        number,
        at=day.days_ago(10, 15, 5),
        materials=[
            ledger_pb2.MaterialToCorrect(name="生产设备布局图", reason="未标注清洗消毒区域"),
            ledger_pb2.MaterialToCorrect(name="食品生产工艺流程图", reason="缺少杀菌工序参数"),
        ],
    )
    window.do(
        "SupplementMaterials",
        number,
        at=day.days_ago(9, 10, 40),
        materials=[
            material("生产设备布局图（修改版）", c.QUANCHENG_FOODS.name),
            material("食品生产工艺流程图（修改版）", c.QUANCHENG_FOODS.name),
        ],
    )
    year = day.today.year
    window.do("Accept", number, at=day.days_ago(8, 9, 0), notice_no=f"济市监食生受〔{year}〕1187号")
    review = day.desk(c.JINAN, "jn.review.03", "reviewer")
    review.do(
        "RecordStep",
        number,
        step="审查",
        handler="韩雪",
        opinion="材料齐全，待现场核查",
        action=_PASS,
    )


def city_returned_online(day: Day) -> None:
    """食品生产许可 online at the city, returned at pre-review (预审退回)."""
    story = "pre-review returned"
    online = day.desk(c.JINAN, "jn.online.02")
    number = online.submit(story, c.FOOD_PRODUCTION, t.SUBMISSION_CHANNEL_ONLINE, c.LI_NA)
    online.do("ReturnPreReview", number, reason="上传的营业执照副本不清晰，请重新扫描上传")


def county_bad_rating(day: Day) -> None:
    """食品经营许可 at the Lixia window: approved and collected, rated 不满意, rectified."""
    story = "bad rating (差评) and rectification"
    window = day.desk(c.LIXIA, "lixia.window.03")
    number = window.submit(
        story, c.FOOD_BUSINESS_LIXIA, t.SUBMISSION_CHANNEL_WINDOW, c.MINGHU_CATERING
    )
    year = day.today.year
    window.do("Accept", number, notice_no=f"历下审批食经受〔{year}〕0876号")
    review = day.desk(c.LIXIA, "lixia.review.01", "reviewer")
    review.do("RecordStep", number, step="审查", handler="马骏", opinion="符合条件", action=_PASS)
    approve = day.desk(c.LIXIA, "lixia.approve.01", "approver")
    approve.do("RecordStep", number, step="决定", handler="高峰", opinion="准予许可", action=_PASS)
    approve.do("Conclude", number, result=_APPROVED, decision_no=f"历下审批食经〔{year}〕0876号")
    approve.do(
        "IssueCertificate",
        number,
        licence_id=c.FOOD_BUSINESS_LICENCE,
        file_sha256=licence_file(c.FOOD_BUSINESS_LICENCE),
        valid_from=day.today.isoformat(),
        valid_until=_years_later(day, 5),
    )
    window.do("CollectAtWindow", number, signer="明湖餐饮 刘经理")
    _rate(
        day,
        c.LIXIA,
        number,
        t.SATISFACTION_DISSATISFIED,
        t.RATING_CHANNEL_HALL_TABLET,
        comment="取证排队近两个小时，食品经营许可只开了一个窗口",
        details=["办事等待时间长"],
    )
    chief = day.desk(c.LIXIA, "lixia.chief.01", "supervisor")
    chief.do(
        "RecordRectification",
        number,
        response="已电话回访申请人致歉，说明当日取证高峰情况",
        fix="高峰时段增开两个食品经营许可窗口，推行网上预约分时段取证",
    )


def county_overdue(day: Day) -> None:
    """食品经营许可 at Lixia, accepted 30 working days ago and still not decided (超期)."""
    story = "overdue (超期)"
    window = day.desk(c.LIXIA, "lixia.window.01")
    number = window.submit(
        story,
        c.FOOD_BUSINESS_LIXIA,
        t.SUBMISSION_CHANNEL_WINDOW,
        c.CHEN_JING,
        at=day.days_ago(30, 9, 12),
    )
    year = day.today.year
    window.do(
        "Accept", number, at=day.days_ago(30, 9, 40), notice_no=f"历下审批食经受〔{year}〕0611号"
    )
    review = day.desk(c.LIXIA, "lixia.review.02", "reviewer")
    review.do(
        "RecordStep",
        number,
        at=day.days_ago(28, 14, 30),
        step="审查",
        handler="马骏",
        opinion="经营场所平面图待复核",
        action=_PASS,
    )


def county_withdrawal(day: Day) -> None:
    """食品经营许可 online at Pingyin, accepted, then withdrawn by the applicant (撤件)."""
    story = "withdrawal (撤件)"
    online = day.desk(c.PINGYIN, "py.online.01")
    number = online.submit(story, c.FOOD_BUSINESS_PINGYIN, t.SUBMISSION_CHANNEL_ONLINE, c.WANG_FANG)
    online.do("PassPreReview", number, opinion="材料齐全")
    online.do("Accept", number, notice_no=f"平审批食经受〔{day.today.year}〕0203号")
    online.do("Withdraw", number, reason="申请人经营场所变更，撤回申请")


def township_immediate(day: Day) -> None:
    """个体工商户设立登记 at the Jiefanglu window: an immediate case (即办件), done on the spot."""
    story = "immediate case (即办件)"
    window = day.desk(c.JIEFANGLU, "jfl.window.02")
    number = window.submit(story, c.SOLE_TRADER_JIEFANGLU, t.SUBMISSION_CHANNEL_WINDOW, c.ZHANG_WEI)
    year = day.today.year
    window.do("Accept", number, notice_no=f"解放路受〔{year}〕0158号")
    window.do("Conclude", number, result=_APPROVED, decision_no=f"解放路登〔{year}〕0158号")
    window.do(
        "IssueCertificate",
        number,
        licence_id=c.JIEFANGLU_BUSINESS_LICENCE,
        file_sha256=licence_file(c.JIEFANGLU_BUSINESS_LICENCE),
        valid_from=day.today.isoformat(),
    )
    window.do("CollectAtWindow", number, signer=c.ZHANG_WEI.name)
    _rate(day, c.JIEFANGLU, number, t.SATISFACTION_VERY_SATISFIED, t.RATING_CHANNEL_QR_CODE)


def township_residence(day: Day) -> None:
    """居住证 at the Jiefanglu window: accepted and under review (办理中)."""
    story = "residence permit in process"
    window = day.desk(c.JIEFANGLU, "jfl.window.01")
    number = window.submit(story, c.RESIDENCE_PERMIT, t.SUBMISSION_CHANNEL_WINDOW, c.LIU_YANG)
    window.do("Accept", number, notice_no=f"解放路居受〔{day.today.year}〕0342号")
    review = day.desk(c.JIEFANGLU, "jfl.police.01", "reviewer")
    review.do(
        "RecordStep",
        number,
        step="审核",
        handler="社区民警 吴强",
        opinion="居住信息属实",
        action=_PASS,
    )


def township_reported_up(day: Day) -> None:
    """建筑工程施工许可 received at Dong'e, reported up to Pingyin (转报), decided and
    certified there, sent back down (下发), mailed by Dong'e and delivered."""
    story = "reported up to the county (转报) and back (下发)"
    window = day.desk(c.DONGE, "donge.window.01")
    number = window.submit(
        story, c.CONSTRUCTION_PERMIT, t.SUBMISSION_CHANNEL_WINDOW, c.DONGE_CONSTRUCTION
    )
    year = day.today.year
    window.do("Accept", number, notice_no=f"东阿便民受〔{year}〕0097号")
    window.transfer(number, c.PINGYIN, "建筑工程施工许可由县级实施，转报平阴县行政审批服务局")
    review = day.desk(c.PINGYIN, "py.review.02", "reviewer")
    review.do(
        "RecordStep",
        number,
        step="审查",
        handler="徐亮",
        opinion="图审合格，手续齐全",
        action=_PASS,
    )
    approve = day.desk(c.PINGYIN, "py.approve.01", "approver")
    approve.do(
        "RecordStep", number, step="审批", handler="孔伟", opinion="准予施工许可", action=_PASS
    )
    approve.do("Conclude", number, result=_APPROVED, decision_no=f"平审批建施〔{year}〕0037号")
    approve.do(
        "IssueCertificate",
        number,
        licence_id=c.CONSTRUCTION_LICENCE,
        file_sha256=licence_file(c.CONSTRUCTION_LICENCE),
        valid_from=day.today.isoformat(),
    )
    approve.transfer(number, c.DONGE, "证照下发东阿镇便民服务中心，邮寄送达申请人")
    window.do(
        "DispatchByMail",
        number,
        carrier="中国邮政EMS",
        tracking_no="1180453412207",
        address=c.DONGE_CONSTRUCTION.address,
    )
    window.do(
        "ConfirmDelivery", number, signer="东阿建筑 赵会计", received_on=day.today.isoformat()
    )
    _rate(day, c.DONGE, number, t.SATISFACTION_SATISFIED, t.RATING_CHANNEL_SMS)


def township_mobile(day: Day) -> None:
    """个体工商户设立登记 from the phone app at Dong'e: pre-reviewed, concluded the same day."""
    story = "mobile submission, immediate"
    mobile = day.desk(c.DONGE, "donge.online.01")
    number = mobile.submit(story, c.SOLE_TRADER_DONGE, t.SUBMISSION_CHANNEL_MOBILE, c.ZHAO_LEI)
    mobile.do("PassPreReview", number, opinion="身份核验通过，材料齐全")
    year = day.today.year
    mobile.do("Accept", number, notice_no=f"东阿便民受〔{year}〕0098号")
    mobile.do("Conclude", number, result=_APPROVED, decision_no=f"东阿登〔{year}〕0098号")
    mobile.do(
        "IssueCertificate",
        number,
        licence_id=c.DONGE_BUSINESS_LICENCE,
        file_sha256=licence_file(c.DONGE_BUSINESS_LICENCE),
        valid_from=day.today.isoformat(),
    )
    mobile.do("CollectAtWindow", number, signer=c.ZHAO_LEI.name)


def _rate(
    day: Day,
    node: str,
    number: str,
    satisfaction: t.Satisfaction.ValueType,
    channel: t.RatingChannel.ValueType,
    *,
    comment: str = "",
    details: list[str] | None = None,
) -> None:
    """好差评, given by the applicant and recorded by the rating system."""
    day.desk(node, "haochaping", "system").do(
        "Rate", number, satisfaction=satisfaction, channel=channel, comment=comment,
        details=details or [],
    )  # fmt: skip


STORIES: tuple[Callable[[Day], None], ...] = (
    province_site_check,
    city_correction_cycle,
    city_returned_online,
    county_bad_rating,
    county_overdue,
    county_withdrawal,
    township_immediate,
    township_residence,
    township_reported_up,
    township_mobile,
)
TRANSFERRED = township_reported_up
"""The story whose case the audit replay follows across nodes."""
